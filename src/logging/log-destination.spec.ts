import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LogDestination } from './log-destination';

describe(LogDestination.name, () => {
  let dir: string;
  let file: string;
  let fd: number;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'log-destination-'));
    file = join(dir, 'log');
    fd = openSync(file, 'w');
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes every line, in order, those written meanwhile batched behind the write in flight', async () => {
    const sut = new LogDestination(fd);
    const lines = Array.from({ length: 500 }, (_, n) => `{"n":${n},"text":"🦋 ${'x'.repeat(n)}"}\n`);
    lines.forEach((line) => expect(sut.write(line)).toBe(true));
    await new Promise((resolve) => setTimeout(resolve, 200));
    closeSync(fd);
    expect(readFileSync(file, 'utf8')).toBe(lines.join(''));
  });

  it('writes what is left at exit synchronously', async () => {
    const sut = new LogDestination(fd);
    sut.write('first\n'); // in flight
    sut.write('second\n');
    sut.write('third\n');
    sut.flushSync();
    await new Promise((resolve) => setTimeout(resolve, 50)); // the async write's turn
    closeSync(fd);
    // The write in flight went to libuv before the sync ones: it may land after them, never twice.
    expect(readFileSync(file, 'utf8').split('\n').sort()).toEqual(['', 'first', 'second', 'third']);
  });

  it('stops logging when the descriptor cannot be written, and flushes at once', async () => {
    closeSync(fd);
    const sut = new LogDestination(fd); // closed: every write fails (EBADF), as on a closed pipe (EPIPE)
    sut.write('lost\n');
    await new Promise((resolve) => setTimeout(resolve, 50));
    sut.write('lost too\n');
    const started = Date.now();
    sut.flushSync();
    expect(Date.now() - started).toBeLessThan(100);
  });
});
