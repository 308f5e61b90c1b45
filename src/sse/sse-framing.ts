/**
 * The text/event-stream wire format. Values are split at every line break a browser recognises
 * (CRLF, LF, CR), so no value can end a line early and start a field of its own: a message with
 * "\nid: 9" in it stays data.
 */
const LINE_BREAK = /\r\n|\r|\n/;

/** Field values that must fit on one line: event types and ids. */
export function assertSingleLine(field: string, value: string): void {
  if (/[\r\n\0]/.test(value)) {
    throw new Error(`SSE ${field} must not contain CR, LF or NUL: ${JSON.stringify(value)}`);
  }
}

export interface SseFields {
  readonly id: string;
  readonly data: string;
  readonly type?: string;
}

export function encodeEvent({ id, data, type }: SseFields): Buffer {
  assertSingleLine('id', id);
  let text = '';
  if (type !== undefined) {
    assertSingleLine('event type', type);
    text += `event: ${type}\n`;
  }
  text += `id: ${id}\n`;
  for (const line of data.split(LINE_BREAK)) {
    text += `data: ${line}\n`;
  }
  return Buffer.from(`${text}\n`, 'utf8');
}

export function encodeComment(comment: string): Buffer {
  const lines = comment.split(LINE_BREAK).map((line) => `: ${line}\n`);
  return Buffer.from(`${lines.join('')}\n`, 'utf8');
}

/**
 * The `retry:` hint, in a block of its own; with `id`, the block also sets the client's last event
 * id without dispatching an event (a block without data dispatches nothing).
 */
export function encodeRetry(milliseconds: number, id?: string): Buffer {
  if (!Number.isInteger(milliseconds) || milliseconds < 0) {
    throw new Error(`SSE retry must be a non-negative integer, got ${milliseconds}`);
  }
  if (id === undefined) {
    return Buffer.from(`retry: ${milliseconds}\n\n`, 'latin1');
  }
  assertSingleLine('id', id);
  return Buffer.from(`retry: ${milliseconds}\nid: ${id}\n\n`, 'utf8');
}

/** A block that only sets the client's last event id: a resume point, no event. */
export function encodeId(id: string): Buffer {
  assertSingleLine('id', id);
  return Buffer.from(`id: ${id}\n\n`, 'utf8');
}

/**
 * The bytes `encodeEvent` makes of an event with this data and an id of `idLength` characters,
 * sent as one HTTP/1.1 chunk: what it takes of a connection's buffer bound. Counted, not encoded.
 */
export function encodedEventBytes(data: string, idLength: number, type?: string): number {
  let bytes = 'id: \n'.length + idLength + 1; // the id line, and the empty line that ends the event
  if (type !== undefined) {
    bytes += 'event: \n'.length + Buffer.byteLength(type, 'utf8');
  }
  const lines = data.split(LINE_BREAK);
  for (const line of lines) {
    bytes += 'data: \n'.length + Buffer.byteLength(line, 'utf8');
  }
  return bytes + bytes.toString(16).length + 4;
}

/** One HTTP/1.1 chunk carrying `payload`: what a chunked response writes for it. */
export function toHttpChunk(payload: Buffer): Buffer {
  const head = Buffer.from(`${payload.length.toString(16)}\r\n`, 'latin1');
  return Buffer.concat([head, payload, CRLF], head.length + payload.length + 2);
}

const CRLF = Buffer.from('\r\n', 'latin1');

/**
 * An event's `event:` and `data:` lines, without its id: for connections that give one event ids
 * of their own (a multiplexed connection's composite ids), so only the id line is made per connection.
 */
export function encodeEventBody({ data, type }: Omit<SseFields, 'id'>): Buffer {
  let text = '';
  if (type !== undefined) {
    assertSingleLine('event type', type);
    text += `event: ${type}\n`;
  }
  for (const line of data.split(LINE_BREAK)) {
    text += `data: ${line}\n`;
  }
  return Buffer.from(`${text}\n`, 'utf8');
}
