import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { Readable } from 'node:stream';
import { join } from 'node:path';

/**
 * kcat (`apt-get install -y kcat`): a Kafka client independent of the one under test, so a test
 * that passes proves the records really went through the broker, not just through kafkajs.
 */

export interface KcatRecord {
  partition: number;
  offset: number;
  /** null for a record without a key. */
  key: Buffer | null;
  /** The exact bytes produced; null for a tombstone. */
  value: Buffer | null;
}

export interface KcatConsumeOptions {
  /** Wait for this many records (then exit); unset: read what is there and exit at the end. */
  count?: number;
  /** Where to start: `beginning` (default), `end`, or an absolute offset. */
  offset?: 'beginning' | 'end' | number;
  /** Give up (and reject, saying what did arrive) after this long; 10 s unless given. */
  timeoutMs?: number;
}

interface KcatResult {
  stdout: Buffer;
  stderr: string;
}

function runKcat(args: string[], timeoutMs: number, input?: Buffer): Promise<KcatResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('kcat', args, { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    const { stdout: out, stderr: err } = child as { stdout: Readable; stderr: Readable };
    child.stdin?.on('error', () => undefined); // kcat that failed to start: its exit says why
    child.stdin?.end(input);
    const stdout: Buffer[] = [];
    let stderr = '';
    let timedOut = false;
    out.on('data', (chunk: Buffer) => stdout.push(chunk));
    err.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const hint = error.code === 'ENOENT' ? ' (install it: apt-get install -y kcat)' : '';
      reject(new Error(`could not run kcat${hint}: ${error.message}`, { cause: error }));
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      const result = { stdout: Buffer.concat(stdout), stderr };
      if (timedOut) {
        reject(Object.assign(new Error(`kcat ${args.join(' ')} timed out after ${timeoutMs} ms`), result));
      } else if (code !== 0) {
        reject(new Error(`kcat ${args.join(' ')} exited with code ${code}: ${stderr.trim()}`));
      } else {
        resolve(result);
      }
    });
  });
}

/**
 * Produces one record per message, in order, each value byte for byte (newlines, NUL, invalid
 * UTF-8 included): every message goes through its own file, which kcat sends whole as one record.
 * A Buffer is one message. Resolves once the broker has acknowledged them all. `config`: librdkafka
 * properties (`-X name=value`); `headers`: set on every record.
 */
export async function kcatProduce(
  brokers: string,
  topic: string,
  messages: readonly (string | Buffer)[] | Buffer,
  opts: { key?: string; config?: Record<string, string>; headers?: Record<string, string> } = {},
): Promise<void> {
  const list = Buffer.isBuffer(messages) ? [messages] : messages;
  if (list.some((message) => message.length === 0)) {
    // kcat silently skips an empty file, which would drop the record without an error.
    throw new Error('kcatProduce cannot send an empty value');
  }
  const dir = await mkdtemp(join(tmpdir(), 'kcat-produce-'));
  try {
    const files = await Promise.all(
      list.map(async (message, i) => {
        const file = join(dir, String(i).padStart(6, '0'));
        await writeFile(file, message);
        return file;
      }),
    );
    const key = opts.key === undefined ? [] : ['-k', opts.key];
    const config = Object.entries(opts.config ?? {}).flatMap(([name, value]) => ['-X', `${name}=${value}`]);
    const headers = Object.entries(opts.headers ?? {}).flatMap(([name, value]) => ['-H', `${name}=${value}`]);
    await runKcat(['-P', '-b', brokers, '-t', topic, ...key, ...headers, ...config, ...files], 30_000);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Records as kcat makes them from its standard input, with kcat's own options (`-K:` to split
 * key from value at a colon, `-Z` to send an empty value as a tombstone, `-H name` for a header
 * without a value, `-D` for the delimiter between records): for records kcatProduce cannot make.
 * Resolves once the broker has acknowledged them all.
 */
export async function kcatProduceInput(
  brokers: string,
  topic: string,
  input: string | Buffer,
  options: readonly string[],
): Promise<void> {
  await runKcat(['-P', '-b', brokers, '-t', topic, ...options], 30_000, Buffer.from(input));
}

/**
 * `partition:offset:keyLength:<key>valueLength:<value>` per record: lengths make the output
 * parseable whatever bytes the key and value hold (-1 is kcat's length for null).
 */
const RECORD_FORMAT = '%p:%o:%K:%k%S:%s';

function parseRecords(out: Buffer): KcatRecord[] {
  const records: KcatRecord[] = [];
  let at = 0;
  const number = (): number => {
    const end = out.indexOf(':', at);
    if (end < 0) {
      throw new Error(`cannot parse kcat output at byte ${at}: ${JSON.stringify(out.toString())}`);
    }
    const value = Number(out.subarray(at, end).toString());
    at = end + 1;
    return value;
  };
  const bytes = (length: number): Buffer | null => {
    if (length < 0) {
      return null;
    }
    const value = Buffer.from(out.subarray(at, at + length));
    at += length;
    return value;
  };
  while (at < out.length) {
    const partition = number();
    const offset = number();
    const key = bytes(number());
    const value = bytes(number());
    records.push({ partition, offset, key, value });
  }
  return records;
}

/** Reads records with kcat, byte-exact (see KcatRecord). The topic must exist. */
export async function kcatConsume(
  brokers: string,
  topic: string,
  opts: KcatConsumeOptions = {},
): Promise<KcatRecord[]> {
  const { count, offset = 'beginning', timeoutMs = 10_000 } = opts;
  // -u: unbuffered, so records that did arrive before a timeout are still reported.
  const args = ['-C', '-b', brokers, '-t', topic, '-o', String(offset), '-q', '-u', '-f', RECORD_FORMAT];
  args.push(...(count === undefined ? ['-e'] : ['-c', String(count)]));
  try {
    return parseRecords((await runKcat(args, timeoutMs)).stdout);
  } catch (error) {
    const partial = (error as Partial<KcatResult>).stdout;
    if (partial === undefined) {
      throw error;
    }
    let got: string;
    try {
      got = JSON.stringify(parseRecords(partial).map((record) => record.value?.toString() ?? null));
    } catch {
      got = `(cut off mid-record) ${JSON.stringify(partial.toString())}`; // killed while writing one
    }
    throw new Error(
      `kcat did not read ${count ?? 'all'} records from ${topic} in ${timeoutMs} ms; it read ${got}`,
      {
        cause: error,
      },
    );
  }
}
