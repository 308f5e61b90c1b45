import { cpSync, existsSync, linkSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, posix, relative } from 'node:path';
import { parse as parseYaml } from 'yaml';

/**
 * The container path without a Docker engine: reads the Dockerfile and docker-compose.yml as Docker
 * would, and lays out the runtime image's files in a folder, so a test can run the image's CMD there
 * with the compose service's environment.
 */

export interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

export interface CopyStep {
  from?: string;
  sources: string[];
  /** Absolute path in the image. */
  dest: string;
  line: number;
}

export interface Stage {
  image: string;
  name?: string;
  env: Record<string, string>;
  workdir: string;
  copies: CopyStep[];
  runs: { command: string; workdir: string; line: number }[];
  user?: string;
  expose: string[];
  cmd?: string[];
  healthcheck?: string[];
}

/** Instructions with continuation lines joined, comments and parser directives dropped. */
export function dockerfileInstructions(text: string): Instruction[] {
  const instructions: Instruction[] = [];
  let pending = '';
  let startLine = 0;
  text.split('\n').forEach((raw, index) => {
    const line = raw.replace(/\r$/, '');
    if (/^\s*#/.test(line) || (pending === '' && line.trim() === '')) {
      return;
    }
    if (pending === '') {
      startLine = index + 1;
    }
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      return;
    }
    const whole = (pending + line).trim();
    pending = '';
    const match = /^(\S+)\s*(.*)$/s.exec(whole);
    if (match) {
      instructions.push({ keyword: match[1].toUpperCase(), args: match[2].trim(), line: startLine });
    }
  });
  return instructions;
}

/** `["a", "b"]` (exec form) as is; anything else (shell form) the way Docker runs it. */
function commandOf(args: string): string[] {
  if (args.startsWith('[')) {
    const parsed: unknown = JSON.parse(args);
    if (!Array.isArray(parsed) || !parsed.every((part) => typeof part === 'string')) {
      throw new Error(`not a JSON array of strings: ${args}`);
    }
    return parsed;
  }
  return ['/bin/sh', '-c', args];
}

/** Splits words, honouring double and single quotes (enough for ENV and COPY lines). */
function words(args: string): string[] {
  const out: string[] = [];
  const pattern = /"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g;
  for (let match = pattern.exec(args); match; match = pattern.exec(args)) {
    out.push(match[1] !== undefined ? match[1].replace(/\\(.)/g, '$1') : (match[2] ?? match[3]));
  }
  return out;
}

function parseEnv(args: string, line: number): Record<string, string> {
  const env: Record<string, string> = {};
  if (!/^[^\s=]+=/.test(args)) {
    const [key, ...rest] = args.split(/\s+/);
    env[key] = rest.join(' '); // the legacy `ENV KEY value` form
    return env;
  }
  const pattern = /([^\s=]+)=("((?:[^"\\]|\\.)*)"|'([^']*)'|(\S*))/g;
  for (let match = pattern.exec(args); match; match = pattern.exec(args)) {
    env[match[1]] = match[3] !== undefined ? match[3].replace(/\\(.)/g, '$1') : (match[4] ?? match[5]);
  }
  if (Object.keys(env).length === 0) {
    throw new Error(`Dockerfile line ${line}: cannot read ENV ${args}`);
  }
  return env;
}

/** The Dockerfile's stages, in order; instructions this harness cannot reproduce are refused. */
export function dockerfileStages(text: string): Stage[] {
  const stages: Stage[] = [];
  for (const { keyword, args, line } of dockerfileInstructions(text)) {
    if (keyword === 'FROM') {
      const [image, as, name] = args.split(/\s+/);
      const base = stages.find((stage) => stage.name !== undefined && stage.name === image);
      stages.push({
        image,
        name: as?.toUpperCase() === 'AS' ? name : undefined,
        env: { ...base?.env },
        workdir: base?.workdir ?? '/',
        copies: [],
        runs: [],
        expose: [],
      });
      continue;
    }
    const stage = stages[stages.length - 1];
    if (!stage) {
      throw new Error(`Dockerfile line ${line}: ${keyword} before FROM`);
    }
    switch (keyword) {
      case 'ENV':
        Object.assign(stage.env, parseEnv(args, line));
        break;
      case 'WORKDIR':
        stage.workdir = posix.resolve(stage.workdir, args);
        break;
      case 'COPY':
      case 'ADD': {
        const parts = args.startsWith('[') ? commandOf(args) : words(args);
        const flags = parts.filter((part) => part.startsWith('--'));
        const paths = parts.filter((part) => !part.startsWith('--'));
        const unknown = flags.filter((flag) => !/^--(from|chown|chmod)=/.test(flag));
        if (
          keyword === 'ADD' ||
          unknown.length > 0 ||
          paths.length < 2 ||
          paths.some((p) => /[*?[]/.test(p))
        ) {
          throw new Error(`Dockerfile line ${line}: this test cannot reproduce ${keyword} ${args}`);
        }
        const from = flags.find((flag) => flag.startsWith('--from='))?.slice('--from='.length);
        const destArg = paths[paths.length - 1];
        const dest = posix.resolve(stage.workdir, destArg);
        stage.copies.push({
          from,
          sources: paths.slice(0, -1),
          dest: destArg.endsWith('/') ? `${dest}/` : dest,
          line,
        });
        break;
      }
      case 'RUN':
        stage.runs.push({ command: args, workdir: stage.workdir, line });
        break;
      case 'USER':
        stage.user = args;
        break;
      case 'EXPOSE':
        stage.expose.push(...args.split(/\s+/));
        break;
      case 'CMD':
        stage.cmd = commandOf(args);
        break;
      case 'HEALTHCHECK': {
        const cmd = /(?:^|\s)CMD\s+(.*)$/s.exec(args);
        stage.healthcheck = cmd ? commandOf(cmd[1].trim()) : undefined;
        break;
      }
      case 'ENTRYPOINT':
      case 'ARG':
      case 'VOLUME':
      case 'SHELL':
      case 'ONBUILD':
        throw new Error(`Dockerfile line ${line}: this test does not reproduce ${keyword}; extend it first`);
      default:
        break; // LABEL, STOPSIGNAL, MAINTAINER: nothing the running process sees
    }
  }
  return stages;
}

/** `npm ci [--omit=...]` in a RUN line: the package kinds it leaves out. */
export function npmCiOmits(command: string): string[] | undefined {
  for (const step of command.split(/&&|;/).map((part) => part.trim())) {
    const argv = step.split(/\s+/);
    if (argv[0] === 'npm' && argv[1] === 'ci') {
      return argv.filter((arg) => arg.startsWith('--omit=')).map((arg) => arg.slice('--omit='.length));
    }
  }
  return undefined;
}

interface LockPackage {
  dev?: boolean;
  optional?: boolean;
  devOptional?: boolean;
  peer?: boolean;
  link?: boolean;
}

/**
 * The node_modules that `npm ci --omit=<omit>` installs from this lockfile, made from the repository's
 * own node_modules (which `npm ci` installed from the same lockfile): every package npm would keep,
 * hard-linked (copied across file systems), nothing it would leave out. Hard links, not symlinks,
 * so that Node resolves requires from the laid-out folder and a left-out package stays missing.
 */
export function layOutNodeModules(repoRoot: string, omit: readonly string[], target: string): number {
  const lock = JSON.parse(readFileSync(join(repoRoot, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, LockPackage>;
  };
  const omitted = (pkg: LockPackage): boolean =>
    (pkg.dev === true && omit.includes('dev')) ||
    (pkg.optional === true && omit.includes('optional')) ||
    (pkg.devOptional === true && omit.includes('dev') && omit.includes('optional')) ||
    (pkg.peer === true && omit.includes('peer'));
  let count = 0;
  for (const [key, pkg] of Object.entries(lock.packages)) {
    // A workspace (client/) is a folder of the checkout, which the image COPYs; npm links it.
    if (key === '' || pkg.link || !key.includes('node_modules/') || omitted(pkg)) {
      continue;
    }
    const source = join(repoRoot, key);
    if (!existsSync(source)) {
      continue; // an optional package for another platform, which npm skips here too
    }
    linkTree(source, join(target, relative('node_modules', key)));
    count += 1;
  }
  return count;
}

/** A package's files, not its nested node_modules (those are packages of their own in the lockfile). */
function linkTree(source: string, target: string): void {
  mkdirSync(target, { recursive: true });
  for (const entry of readdirSync(source, { withFileTypes: true })) {
    if (entry.name === 'node_modules') {
      continue;
    }
    const from = join(source, entry.name);
    const to = join(target, entry.name);
    if (entry.isDirectory()) {
      linkTree(from, to);
    } else if (entry.isFile()) {
      try {
        linkSync(from, to);
      } catch {
        cpSync(from, to);
      }
    } else {
      cpSync(from, to, { verbatimSymlinks: true });
    }
  }
}

/** Copies like `COPY`: a folder's contents into the destination folder, a file to the destination. */
export function copyInto(source: string, dest: string, destIsFolder: boolean): void {
  if (statSync(source).isDirectory()) {
    cpSync(source, dest, { recursive: true });
  } else {
    const file = destIsFolder ? join(dest, source.split('/').pop() as string) : dest;
    mkdirSync(dirname(file), { recursive: true });
    cpSync(source, file);
  }
}

export interface ComposeService {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  environment?: Record<string, string | number | boolean | null> | string[];
  ports?: (string | number)[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  hostname?: string;
  healthcheck?: { test?: string[] | string };
}

export interface ComposeFile {
  services: Record<string, ComposeService>;
}

export function readCompose(file: string): ComposeFile {
  return parseYaml(readFileSync(file, 'utf8')) as ComposeFile;
}

/**
 * A service's environment as its process sees it. `${NAME:-default}` becomes the default (a user
 * who set nothing); other interpolation is refused, since its value would depend on the caller.
 */
export function serviceEnvironment(service: ComposeService): Record<string, string> {
  const entries: [string, string][] = Array.isArray(service.environment)
    ? service.environment.map((item) => {
        const at = item.indexOf('=');
        return at < 0 ? [item, ''] : [item.slice(0, at), item.slice(at + 1)];
      })
    : Object.entries(service.environment ?? {}).map(([key, value]) => [
        key,
        value === null ? '' : String(value),
      ]);
  return Object.fromEntries(
    entries.map(([key, value]) => {
      const resolved = value.replace(/\$\{[A-Za-z_][A-Za-z0-9_]*:?-([^}]*)\}/g, '$1').replace(/\$\$/g, '\0');
      if (resolved.includes('$')) {
        throw new Error(`${key}=${value}: this test cannot tell what the variable would be`);
      }
      return [key, resolved.replace(/\0/g, '$')];
    }),
  );
}

/** `depends_on` in either of its forms: service name to condition. */
export function dependsOn(service: ComposeService): Record<string, string> {
  const deps = service.depends_on ?? [];
  return Array.isArray(deps)
    ? Object.fromEntries(deps.map((name) => [name, 'service_started']))
    : Object.fromEntries(
        Object.entries(deps).map(([name, spec]) => [name, spec.condition ?? 'service_started']),
      );
}

/**
 * Whether `.dockerignore` keeps a path out of the build context. Plain names and `*` within one
 * path segment; `!` exceptions and `**` are refused, since this check would get them wrong.
 */
export function dockerIgnored(context: string, path: string): boolean {
  const file = join(context, '.dockerignore');
  if (!existsSync(file)) {
    return false;
  }
  const normalised = posix.normalize(path).replace(/^\.\/|\/$/g, '');
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .some((pattern) => {
      if (pattern.startsWith('!') || pattern.includes('**')) {
        throw new Error(`.dockerignore: this test cannot apply ${pattern}`);
      }
      const clean = posix.normalize(pattern).replace(/^\/|\/$/g, '');
      const source = clean
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '[^/]*')
        .replace(/\?/g, '[^/]');
      return new RegExp(`^${source}(/|$)`).test(normalised);
    });
}
