import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { packPgliteTemplate, unpackPgliteTemplate } from './pglite-template';

describe('PGlite template', () => {
  let work: string;

  beforeEach(() => {
    work = mkdtempSync(join(tmpdir(), 'pglite-template-spec-'));
  });

  afterEach(() => rmSync(work, { recursive: true, force: true }));

  it('unpacks what it packed: files, their bytes and modes, and empty folders', () => {
    const source = join(work, 'source');
    mkdirSync(join(source, 'base', '1'), { recursive: true });
    mkdirSync(join(source, 'pg_tblspc'));
    writeFileSync(join(source, 'PG_VERSION'), '18\n', { mode: 0o600 });
    const page = Buffer.alloc(8192 + 7, 0xab); // not a whole number of tar blocks
    writeFileSync(join(source, 'base', '1', '112'), page);
    writeFileSync(join(source, 'empty'), '');
    const template = join(work, 'template.tar.gz');
    writeFileSync(template, packPgliteTemplate(source));

    const target = join(work, 'pglite');
    unpackPgliteTemplate(template, target);

    expect(readFileSync(join(target, 'PG_VERSION'), 'utf8')).toBe('18\n');
    expect(statSync(join(target, 'PG_VERSION')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(target, 'base', '1', '112')).equals(page)).toBe(true);
    expect(readFileSync(join(target, 'empty')).length).toBe(0);
    expect(statSync(join(target, 'pg_tblspc')).isDirectory()).toBe(true);
    expect(existsSync(`${target}.partial`)).toBe(false);
    // A valid archive for tar(1) too.
    const listed = spawnSync('tar', ['-tzf', template], { encoding: 'utf8' });
    expect(listed.status).toBe(0);
    expect(listed.stdout.split('\n').filter(Boolean).sort()).toEqual(
      ['PG_VERSION', 'base', 'base/1', 'base/1/112', 'empty', 'pg_tblspc'].sort(),
    );
  });

  it('refuses an entry that points outside the folder, leaving no database behind', () => {
    const header = Buffer.alloc(512);
    header.write('../escaped', 0);
    header.write('0000644\0', 100);
    header.write('00000000000\0', 124);
    header.write('0', 156);
    const template = join(work, 'evil.tar.gz');
    writeFileSync(template, gzipSync(Buffer.concat([header, Buffer.alloc(1024)])));

    const target = join(work, 'pglite');
    expect(() => unpackPgliteTemplate(template, target)).toThrow('points outside the database folder');
    expect(existsSync(target)).toBe(false);
    expect(existsSync(`${target}.partial`)).toBe(false);
    expect(existsSync(join(work, 'escaped'))).toBe(false);
  });
});
