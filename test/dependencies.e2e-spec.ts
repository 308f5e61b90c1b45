import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The installed tree, as `npm ci` lays it out: one Express (Nest's adapter and this code must patch
 * and type the same one), every @nestjs package pinned exactly and in step, and nothing declared
 * that nothing uses.
 */
const ROOT = join(__dirname, '..');

interface Manifest {
  name: string;
  version: string;
  bin?: string | Record<string, string>;
  scripts?: Record<string, string>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

function manifest(dir: string): Manifest {
  return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest;
}

const project = manifest(ROOT);
const installed = (name: string): Manifest => manifest(join(ROOT, 'node_modules', name));

/** Every copy of every package under node_modules, nested ones included: name -> versions. */
function installedCopies(): Map<string, string[]> {
  const copies = new Map<string, string[]>();
  const visit = (modules: string) => {
    let entries: string[];
    try {
      entries = readdirSync(modules);
    } catch {
      return;
    }
    for (const entry of entries) {
      if (entry.startsWith('.')) {
        continue;
      }
      const dirs = entry.startsWith('@')
        ? readdirSync(join(modules, entry)).map((scoped) => join(modules, entry, scoped))
        : [join(modules, entry)];
      for (const dir of dirs) {
        try {
          const { name, version } = manifest(dir);
          copies.set(name, [...(copies.get(name) ?? []), version]);
        } catch {
          continue; // not a package (a .bin, a stray folder)
        }
        visit(join(dir, 'node_modules'));
      }
    }
  };
  visit(join(ROOT, 'node_modules'));
  return copies;
}

/** The text of every file of a folder, recursively (source, tests, scripts). */
function sources(dir: string): string {
  return readdirSync(join(ROOT, dir), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && /\.(ts|js|mjs)$/.test(entry.name))
    .map((entry) => readFileSync(join(entry.parentPath, entry.name), 'utf8'))
    .join('\n');
}

const importedBy = (text: string, name: string): boolean =>
  new RegExp(`(from |require\\(|import )['"]${name.replace(/[/.]/g, '\\$&')}['"/]`).test(text);

describe('the installed dependencies', () => {
  it('hold one Express, the version Nest 12 is built on', () => {
    const express = installedCopies().get('express');
    expect(express).toEqual([project.dependencies!.express]);
    expect(installed('@nestjs/platform-express').dependencies!.express).toBe(project.dependencies!.express);
  });

  it('pin every @nestjs package exactly, and the framework packages to one version', () => {
    const declared = { ...project.dependencies, ...project.devDependencies };
    const nest = Object.entries(declared).filter(([name]) => name.startsWith('@nestjs/'));
    for (const [name, range] of nest) {
      expect(`${name}@${range}`).toMatch(/@\d+\.\d+\.\d+$/);
      expect(`${name}@${installed(name).version}`).toBe(`${name}@${range}`);
    }
    const framework = ['@nestjs/common', '@nestjs/core', '@nestjs/platform-express', '@nestjs/testing'];
    expect(framework.map((name) => declared[name])).toEqual(framework.map(() => declared['@nestjs/core']));
  });

  it('declares no runtime dependency that the service neither imports nor needs as a peer', () => {
    const src = sources('src');
    const runtime = Object.keys(project.dependencies!);
    const imported = runtime.filter((name) => importedBy(src, name));
    const peersOfImported = new Set(
      imported.flatMap((name) => {
        const { peerDependencies = {}, peerDependenciesMeta = {} } = installed(name);
        return Object.keys(peerDependencies).filter((peer) => !peerDependenciesMeta[peer]?.optional);
      }),
    );
    expect(runtime.filter((name) => !imported.includes(name) && !peersOfImported.has(name))).toEqual([]);
  });

  it('declares no development dependency that no test, script, tool config or type needs', () => {
    const code = [
      sources('src'),
      sources('test'),
      sources('bench'),
      sources('scripts'),
      sources('client/src'),
      readFileSync(join(ROOT, 'client/build.mjs'), 'utf8'),
    ].join('\n');
    const configs = ['jest.config.js', 'eslint.config.mjs', 'tsconfig.json']
      .map((file) => readFileSync(join(ROOT, file), 'utf8'))
      .join('\n');
    const scripts = Object.values(project.scripts ?? {}).join('\n');
    const runtime = Object.keys({ ...project.dependencies, ...project.devDependencies });
    const unused = Object.keys(project.devDependencies!).filter((name) => {
      const { bin } = installed(name);
      const bins = typeof bin === 'string' ? [name.replace(/^@[^/]+\//, '')] : Object.keys(bin ?? {});
      const typed = name.startsWith('@types/') ? name.slice('@types/'.length) : undefined;
      return !(
        importedBy(code, name) ||
        importedBy(configs, name) ||
        configs.includes(`'${name}'`) ||
        bins.some((command) => new RegExp(`(^|[\\s&;])${command}(\\s|$)`, 'm').test(scripts)) ||
        scripts.includes(`node_modules/${name}/`) ||
        (typed !== undefined && (runtime.includes(typed) || configs.includes(`"${typed}"`)))
      );
    });
    expect(unused).toEqual([]);
  });
});
