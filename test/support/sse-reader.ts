import { ClientRequest, IncomingHttpHeaders, IncomingMessage, request } from 'node:http';
import { connect, Socket } from 'node:net';
import { waitUntil } from './app';

export interface ParsedEvent {
  id?: string;
  type?: string;
  data: string;
}

/**
 * A raw SSE client over node:http: keeps every byte of the body and parses it by the rules of the
 * HTML spec (data lines joined with LF, CR/CRLF/LF all end a line), so tests can check framing.
 */
export class SseReader {
  raw = '';
  events: ParsedEvent[] = [];
  comments: string[] = [];
  retry?: number;
  /** What an EventSource would send as Last-Event-ID now: set by every block that ends, data or not. */
  lastEventId = '';
  status?: number;
  headers?: IncomingHttpHeaders;
  ended = false;
  private buffer = '';
  private req?: ClientRequest;
  private res?: IncomingMessage;

  static async open(url: string, headers: Record<string, string> = {}): Promise<SseReader> {
    const reader = new SseReader();
    await reader.connect(url, headers);
    return reader;
  }

  private connect(url: string, headers: Record<string, string>): Promise<void> {
    return new Promise((resolve, reject) => {
      this.req = request(url, { headers: { accept: 'text/event-stream', ...headers } }, (res) => {
        this.res = res;
        this.status = res.statusCode;
        this.headers = res.headers;
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => this.feed(chunk));
        res.on('end', () => (this.ended = true));
        res.on('close', () => (this.ended = true));
        res.on('error', () => (this.ended = true));
        resolve();
      });
      this.req.on('error', (error) => {
        this.ended = true;
        reject(error);
      });
      this.req.end();
    });
  }

  async waitForEvents(count: number, timeoutMs = 5000): Promise<ParsedEvent[]> {
    await waitUntil(
      () => this.events.length >= count,
      `${count} events arrived (got ${this.events.length})`,
      timeoutMs,
    );
    return this.events;
  }

  /**
   * Waits for the stream's position: the first `id:` it sends, before any event. A stream carries
   * what comes after that position; a change made before it may count as history.
   */
  async waitForPosition(timeoutMs = 5000): Promise<string> {
    await waitUntil(() => this.lastEventId !== '', 'the stream sent its position (an id:)', timeoutMs);
    return this.lastEventId;
  }

  async waitForEnd(timeoutMs = 5000): Promise<void> {
    await waitUntil(() => this.ended, 'the stream ended', timeoutMs);
  }

  close(): void {
    this.req?.destroy();
    this.res?.destroy();
  }

  private feed(chunk: string): void {
    this.raw += chunk;
    this.buffer += chunk;
    let lineStart = 0;
    for (let i = 0; i < this.buffer.length; i++) {
      const char = this.buffer[i];
      if (char !== '\n' && char !== '\r') {
        continue;
      }
      if (char === '\r' && i + 1 === this.buffer.length) {
        break; // may be the first half of a CRLF split across chunks
      }
      const line = this.buffer.slice(lineStart, i);
      if (char === '\r' && this.buffer[i + 1] === '\n') {
        i++;
      }
      lineStart = i + 1;
      this.onLine(line);
    }
    this.buffer = this.buffer.slice(lineStart);
  }

  private pendingData: string[] = [];
  private pendingId?: string;
  private lastEventIdBuffer = '';
  private pendingType?: string;

  private onLine(line: string): void {
    if (line === '') {
      this.lastEventId = this.lastEventIdBuffer;
      if (this.pendingData.length > 0) {
        this.events.push({ id: this.pendingId, type: this.pendingType, data: this.pendingData.join('\n') });
      }
      this.pendingData = [];
      this.pendingId = undefined;
      this.pendingType = undefined;
      return;
    }
    if (line.startsWith(':')) {
      this.comments.push(line.slice(1).trimStart());
      return;
    }
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) {
      value = value.slice(1);
    }
    switch (field) {
      case 'data':
        this.pendingData.push(value);
        break;
      case 'id':
        this.pendingId = value;
        this.lastEventIdBuffer = value;
        break;
      case 'event':
        this.pendingType = value;
        break;
      case 'retry':
        this.retry = Number(value);
        break;
      default:
        break;
    }
  }
}

/**
 * A client that sends its GET and then never reads: the kernel's socket buffers fill, then the
 * server's. Resolves once connected and the request is written; the caller destroys the socket.
 */
export async function openStalledReader(
  port: number,
  path: string,
  headers: Record<string, string> = {},
): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
  socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${lines.join('')}\r\n`);
  socket.pause();
  return socket;
}
