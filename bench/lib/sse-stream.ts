/**
 * Cheap incremental decoding of one SSE response, for the load generator.
 *
 * Two layers, both working on Buffers without per-line allocations:
 *  - feedHttp(): raw socket bytes -> HTTP/1.1 response head, then the body (chunked transfer coding or
 *    close-delimited) as byte ranges into feedBody(). Used when the stream runs on a plain TCP socket
 *    (read with net's `onread` into one buffer shared by all sockets: no allocation per read).
 *  - feedBody(): SSE body bytes -> events. Lines end with \n (a \r before it is dropped); a blank line
 *    ends an event. Only `data:` lines are decoded to strings (joined with \n); for `id:` only its
 *    presence is noted; comments (`:`), `retry:`, `event:` and unknown fields are skipped undecoded.
 *
 * The sink is called synchronously: onHead once the response head is complete, onEvent for every
 * event that had data, onEnd when a chunked body ends.
 */

export interface SseSink {
  onHead(conn: SseStream, status: number): void;
  onEvent(conn: SseStream, data: string, hasId: boolean, nowNs: number): void;
  onEnd(conn: SseStream): void;
}

const enum Framing {
  Head,
  ChunkSize,
  ChunkData,
  ChunkEnd,
  Raw,
  Done,
}

const CR = 13;
const LF = 10;
const MAX_HEAD_BYTES = 64 * 1024;

export class SseStream {
  /** Bytes of an incomplete SSE line carried over from the previous range. */
  private rest: Buffer | null = null;
  /** Joined `data:` lines of the event being parsed, or null if it has none yet. */
  private data: string | null = null;
  private hasId = false;

  private framing = Framing.Head;
  private head: Buffer | null = null;
  private chunkLeft = 0;
  private inChunkExt = false;

  constructor(private readonly sink: SseSink) {}

  /**
   * Raw bytes from the socket, chunk[0, length): HTTP response head, then the (chunked or raw) body.
   * `chunk` may be a read buffer shared by many sockets: nothing keeps a reference to it after return.
   */
  feedHttp(chunk: Buffer, length: number, now: number): void {
    if (this.framing === Framing.Head) {
      const buf =
        this.head !== null
          ? Buffer.concat([this.head, chunk.subarray(0, length)])
          : chunk.subarray(0, length);
      this.head = null;
      const headEnd = buf.indexOf('\r\n\r\n');
      if (headEnd === -1) {
        if (buf.length > MAX_HEAD_BYTES) {
          this.framing = Framing.Done;
          this.sink.onHead(this, 0);
          return;
        }
        this.head = Buffer.from(buf);
        return;
      }
      const headText = buf.toString('latin1', 0, headEnd);
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(headText)?.[1] ?? 0);
      this.framing = /\r\ntransfer-encoding:[^\r]*chunked/i.test(headText) ? Framing.ChunkSize : Framing.Raw;
      this.sink.onHead(this, status);
      if (status !== 200) {
        this.framing = Framing.Done;
        return;
      }
      this.feedFraming(buf, headEnd + 4, buf.length, now);
      return;
    }
    this.feedFraming(chunk, 0, length, now);
  }

  private feedFraming(buf: Buffer, start: number, end: number, now: number): void {
    let pos = start;
    while (pos < end) {
      switch (this.framing) {
        case Framing.ChunkSize: {
          const b = buf[pos++];
          if (b === LF) {
            this.inChunkExt = false;
            if (this.chunkLeft === 0) {
              this.framing = Framing.Done;
              this.sink.onEnd(this);
              return;
            }
            this.framing = Framing.ChunkData;
          } else if (b === 59 /* ; */) {
            this.inChunkExt = true;
          } else if (!this.inChunkExt && b !== CR) {
            const v = b <= 57 ? b - 48 : (b | 0x20) - 87; // 0-9, a-f, A-F
            this.chunkLeft = this.chunkLeft * 16 + v;
          }
          break;
        }
        case Framing.ChunkData: {
          const n = Math.min(this.chunkLeft, end - pos);
          this.feedBody(buf, pos, pos + n, now);
          pos += n;
          this.chunkLeft -= n;
          if (this.chunkLeft === 0) {
            this.framing = Framing.ChunkEnd;
          }
          break;
        }
        case Framing.ChunkEnd:
          if (buf[pos++] === LF) {
            this.framing = Framing.ChunkSize;
          }
          break;
        case Framing.Raw:
          this.feedBody(buf, pos, end, now);
          return;
        case Framing.Head:
        case Framing.Done:
          return;
      }
    }
  }

  /** SSE body bytes buf[start, end). */
  feedBody(chunk: Buffer, start: number, end: number, now: number): void {
    let buf = chunk;
    let pos = start;
    let len = end;
    if (this.rest !== null) {
      buf = Buffer.concat([this.rest, chunk.subarray(start, end)]);
      this.rest = null;
      pos = 0;
      len = buf.length;
    }
    while (pos < len) {
      const nl = buf.indexOf(LF, pos);
      if (nl === -1 || nl >= len) {
        this.rest = Buffer.from(buf.subarray(pos, len)); // copy: do not pin the socket's buffer
        return;
      }
      let lineEnd = nl;
      if (lineEnd > pos && buf[lineEnd - 1] === CR) {
        lineEnd--;
      }
      if (lineEnd === pos) {
        // blank line: dispatch the event if it had data
        if (this.data !== null) {
          const data = this.data;
          const hasId = this.hasId;
          this.data = null;
          this.hasId = false;
          this.sink.onEvent(this, data, hasId, now);
        } else {
          this.hasId = false;
        }
      } else {
        const b0 = buf[pos];
        if (
          b0 === 100 && // d
          lineEnd - pos >= 5 &&
          buf[pos + 1] === 97 && // a
          buf[pos + 2] === 116 && // t
          buf[pos + 3] === 97 && // a
          buf[pos + 4] === 58 // :
        ) {
          let s = pos + 5;
          if (s < lineEnd && buf[s] === 32) {
            s++;
          }
          const value = buf.toString('utf8', s, lineEnd);
          this.data = this.data === null ? value : this.data + '\n' + value;
        } else if (b0 === 105 && lineEnd - pos >= 3 && buf[pos + 1] === 100 && buf[pos + 2] === 58) {
          this.hasId = true; // id: (opaque; only its presence is checked)
        }
      }
      pos = nl + 1;
    }
  }
}
