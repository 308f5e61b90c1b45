import { write, writeSync } from 'node:fs';

const RETRY_MS = 10;
/** How long the exit waits for a full stdout (EAGAIN) to take the last lines. */
const EXIT_WAIT_MS = 500;

/**
 * Where the JSON log lines go: a file descriptor (stdout), written without blocking, the lines that
 * come meanwhile batched into the next write, and what is left written synchronously at exit.
 *
 * Not pino's default destination (sonic-boom 4), whose flush at exit retries a failed write for
 * ever: with stdout a pipe its reader closed (`| head`), every write fails with EPIPE, and a
 * process that was refusing to start never exited, nor heeded SIGTERM. Here a write that fails
 * other than with EAGAIN ends logging: there is nowhere left to write to.
 */
export class LogDestination {
  private pending: string[] = [];
  /** The unwritten end of the last write, taken again before `pending`. */
  private rest?: Buffer;
  private inFlight = false;
  private retrying = false;
  private broken = false;

  constructor(private readonly fd: number) {}

  write(line: string): boolean {
    if (!this.broken) {
      this.pending.push(line);
      this.writeNext();
    }
    return true;
  }

  /** Writes what is left, for at most EXIT_WAIT_MS when the descriptor is full; at exit. */
  flushSync(): void {
    // A write in flight belongs to libuv now; what waits behind it is written here.
    const rest = this.take(true);
    const pending = this.take(false);
    let data = rest && pending ? Buffer.concat([rest, pending]) : (rest ?? pending);
    const deadline = Date.now() + EXIT_WAIT_MS;
    while (data !== undefined && data.length > 0 && !this.broken) {
      try {
        data = data.subarray(writeSync(this.fd, data));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EAGAIN' || Date.now() >= deadline) {
          this.broken = true;
          return;
        }
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, RETRY_MS);
      }
    }
  }

  private writeNext(): void {
    if (this.inFlight || this.retrying || this.broken) {
      return;
    }
    const data = this.take(true);
    if (data === undefined) {
      return;
    }
    this.inFlight = true;
    write(this.fd, data, 0, data.length, null, (error, written) => {
      this.inFlight = false;
      if (error) {
        if (error.code !== 'EAGAIN') {
          this.broken = true;
          this.pending = [];
          this.rest = undefined;
          return;
        }
        written = 0;
      }
      if (written < data.length) {
        this.rest = data.subarray(written);
      }
      if (error) {
        this.retrying = true;
        setTimeout(() => {
          this.retrying = false;
          this.writeNext();
        }, RETRY_MS).unref();
        return;
      }
      this.writeNext();
    });
  }

  /** What to write next: the rest of the last write (when `withRest`), else the pending lines. */
  private take(withRest: boolean): Buffer | undefined {
    if (withRest && this.rest !== undefined) {
      const rest = this.rest;
      this.rest = undefined;
      return rest;
    }
    if (this.pending.length === 0) {
      return undefined;
    }
    const data = Buffer.from(this.pending.join(''));
    this.pending = [];
    return data;
  }
}

let stdout: LogDestination | undefined;

/** The process's one destination on stdout, flushed when the process exits. */
export function stdoutLogDestination(): LogDestination {
  if (stdout === undefined) {
    const destination = new LogDestination(1);
    process.once('exit', () => destination.flushSync());
    stdout = destination;
  }
  return stdout;
}
