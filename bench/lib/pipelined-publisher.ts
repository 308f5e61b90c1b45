/**
 * HTTP/1.1 pipelining publisher for the load generator: a few keep-alive TCP connections, each with up to
 * `depth` POSTs written before their answers arrive. node:http's client never pipelines (one request per
 * socket at a time), so this writes the requests itself and reads the answers in order: status line,
 * headers, a Content-Length or chunked body. Requests made in one event-loop turn leave in one write per
 * connection (the socket is corked until the next tick), as a pipelining client would send them.
 */
import * as net from 'node:net';

export type PostDone = (ok: boolean, reason: string) => void;

interface Pending {
  done: PostDone;
}

const CRLF_CRLF = Buffer.from('\r\n\r\n');

class PipelinedConnection {
  readonly pending: Pending[] = [];
  private buffered: Buffer = Buffer.alloc(0);
  private corked = false;
  private broken: string | null = null;
  readonly socket: net.Socket;

  constructor(
    host: string,
    port: number,
    private readonly hostHeader: string,
  ) {
    this.socket = net.connect({ host, port, noDelay: true });
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('error', (err: NodeJS.ErrnoException) => this.fail(err.code ?? 'error'));
    this.socket.on('close', () => this.fail('closed'));
  }

  get usable(): boolean {
    return this.broken === null;
  }

  post(path: string, contentType: string, body: string, done: PostDone): void {
    if (this.broken !== null) {
      done(false, this.broken);
      return;
    }
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    this.pending.push({ done });
    this.socket.write(
      `POST ${path} HTTP/1.1\r\nHost: ${this.hostHeader}\r\nContent-Type: ${contentType}\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  }

  destroy(): void {
    this.broken ??= 'destroyed';
    this.socket.destroy();
  }

  private fail(reason: string): void {
    this.broken ??= reason;
    for (const p of this.pending.splice(0)) {
      p.done(false, reason);
    }
  }

  /** Answers arrive in request order: each complete one settles the oldest pending request. */
  private onData(chunk: Buffer): void {
    let buf = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    for (;;) {
      const used = this.parseOne(buf);
      if (used === 0) {
        break;
      }
      buf = buf.subarray(used);
    }
    this.buffered = buf.length === 0 ? Buffer.alloc(0) : Buffer.from(buf);
  }

  /** Bytes of one complete answer at the start of buf (0 if it is not all there yet). */
  private parseOne(buf: Buffer): number {
    const headEnd = buf.indexOf(CRLF_CRLF);
    if (headEnd < 0) {
      return 0;
    }
    const head = buf.toString('latin1', 0, headEnd);
    const status = Number(head.slice(9, 12));
    const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    let end: number;
    if (length) {
      end = headEnd + 4 + Number(length[1]);
      if (buf.length < end) {
        return 0;
      }
    } else if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
      end = chunkedEnd(buf, headEnd + 4);
      if (end < 0) {
        return 0;
      }
    } else {
      end = headEnd + 4; // no body (204, 304)
    }
    const p = this.pending.shift();
    p?.done(status === 201, `status_${status}`);
    return end;
  }
}

/** End offset of a complete chunked body starting at `from`, or -1 if it has not all arrived. */
function chunkedEnd(buf: Buffer, from: number): number {
  let pos = from;
  for (;;) {
    const lineEnd = buf.indexOf('\r\n', pos);
    if (lineEnd < 0) {
      return -1;
    }
    const size = parseInt(buf.toString('latin1', pos, lineEnd), 16);
    if (!Number.isFinite(size)) {
      return -1;
    }
    if (size === 0) {
      const trailerEnd = buf.indexOf('\r\n\r\n', lineEnd);
      return trailerEnd < 0 ? -1 : trailerEnd + 4;
    }
    pos = lineEnd + 2 + size + 2;
    if (pos > buf.length) {
      return -1;
    }
  }
}

/** `connections` pipelining connections, each POST going to the one with the fewest answers pending. */
export class PipelinedPublisher {
  private readonly conns: PipelinedConnection[];

  constructor(
    host: string,
    port: number,
    connections: number,
    readonly depth: number,
  ) {
    this.conns = Array.from(
      { length: connections },
      () => new PipelinedConnection(host, port, `${host}:${port}`),
    );
  }

  /** Requests that can be written now without exceeding `depth` on any connection. */
  get capacity(): number {
    let free = 0;
    for (const c of this.conns) {
      if (c.usable) {
        free += this.depth - c.pending.length;
      }
    }
    return free;
  }

  post(path: string, contentType: string, body: string, done: PostDone): void {
    let best: PipelinedConnection | null = null;
    for (const c of this.conns) {
      if (c.usable && (best === null || c.pending.length < best.pending.length)) {
        best = c;
      }
    }
    if (best === null) {
      done(false, 'no_connection');
      return;
    }
    best.post(path, contentType, body, done);
  }

  destroy(): void {
    for (const c of this.conns) {
      c.destroy();
    }
  }
}
