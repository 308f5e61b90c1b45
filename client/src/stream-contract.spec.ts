import { execFile } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { promisify } from 'node:util';

// Jest runs this package's specs as ES modules (it is "type": "module"), without __dirname; its
// scripts run from the repository's root.
const TYPE_TESTS = join(process.cwd(), 'client', 'type-tests');
const TSC = createRequire(join(process.cwd(), 'package.json')).resolve('typescript/bin/tsc');

/** Compiles files of type-tests/ as the client's sources are compiled: the diagnostics, '' when none. */
async function compile(project: string): Promise<string> {
  try {
    await promisify(execFile)(process.execPath, [TSC, '-p', project], { timeout: 60_000 });
    return '';
  } catch (error) {
    return String((error as { stdout?: string }).stdout ?? error);
  }
}

/** The type test with one change, compiled on its own. */
async function compileChanged(from: string, to: string): Promise<string> {
  const source = readFileSync(join(TYPE_TESTS, 'stream-contract.type-test.ts'), 'utf8');
  expect(source).toContain(from);
  const file = join(TYPE_TESTS, `changed-${process.pid}.type-test.ts`);
  const project = join(TYPE_TESTS, `tsconfig.changed-${process.pid}.json`);
  writeFileSync(file, source.replace(from, to));
  writeFileSync(project, JSON.stringify({ extends: './tsconfig.json', include: [], files: [file] }));
  try {
    return await compile(project);
  } finally {
    rmSync(file, { force: true });
    rmSync(project, { force: true });
  }
}

describe('the stream contract’s types (type-tests/stream-contract.type-test.ts)', () => {
  it('compiles: every name and field it uses is right, and every misspelt name and wrong field is an error', async () => {
    expect(await compile(join(TYPE_TESTS, 'tsconfig.json'))).toBe('');
  }, 60_000);

  it('fails when a line expected to be an error compiles (the check cannot pass by accident)', async () => {
    const spelt = await compileChanged("client.subscribe('broadcats'", "client.subscribe('broadcast'");
    expect(spelt).toMatch(/error TS2578: Unused '@ts-expect-error' directive/);
    const field = await compileChanged('void e.data.pgae;', 'void e.data.page;');
    expect(field).toMatch(/error TS2578/);
  }, 120_000);
});
