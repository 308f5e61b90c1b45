import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copyPgliteTemplate } from './pglite-template';

describe(copyPgliteTemplate.name, () => {
  const sut = copyPgliteTemplate;
  let work: string;

  beforeEach(() => {
    work = mkdtempSync(join(tmpdir(), 'pglite-template-spec-'));
  });

  afterEach(() => rmSync(work, { recursive: true, force: true }));

  it('copies the database folder whole: files, their bytes and modes, and empty folders', () => {
    const template = join(work, 'template');
    mkdirSync(join(template, 'base', '1'), { recursive: true });
    mkdirSync(join(template, 'pg_tblspc'));
    writeFileSync(join(template, 'PG_VERSION'), '17\n', { mode: 0o600 });
    const page = Buffer.alloc(8192 + 7, 0xab);
    writeFileSync(join(template, 'base', '1', '112'), page);

    const target = join(work, 'pglite');
    sut(template, target);

    expect(readFileSync(join(target, 'PG_VERSION'), 'utf8')).toBe('17\n');
    expect(statSync(join(target, 'PG_VERSION')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(target, 'base', '1', '112')).equals(page)).toBe(true);
    expect(statSync(join(target, 'pg_tblspc')).isDirectory()).toBe(true);
    expect(existsSync(`${target}.partial`)).toBe(false);
  });

  it('leaves no database behind when the copy fails', () => {
    const target = join(work, 'pglite');
    expect(() => sut(join(work, 'no-such-template'), target)).toThrow(/no-such-template/);
    expect(existsSync(target)).toBe(false);
    expect(existsSync(`${target}.partial`)).toBe(false);
  });
});
