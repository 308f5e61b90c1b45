import { encodeEventBody } from '../sse/sse-framing';
import { SseEvent } from '../sse/sse-event';

/**
 * An event of one stream as a multiplexed connection sends it: its type is the stream's name (with
 * the event's own type after a dot), its id the connection's composite id. The `event:` and `data:`
 * lines are encoded once per event and name, whatever the number of connections it goes to; only
 * the id line is per connection.
 */
export class MultiplexedEvent extends SseEvent {
  private frameBytes?: Buffer;
  private chunkBytes?: Buffer;

  constructor(
    id: string,
    source: SseEvent,
    type: string,
    private readonly body: Buffer,
    /** What the body's `event:` line adds to the source's own frame, less the source's id line. */
    private readonly bodyAllowance: number,
  ) {
    super(id, source.data, type);
  }

  /**
   * The `event:` line and the composite id are this connection's own framing: an event that fits
   * the buffer bound on its route fits here too, whatever the names and the number of streams.
   */
  override framingAllowance(chunked: boolean): number {
    const frame = Math.max(0, this.id.length + this.bodyAllowance); // a composite id is ASCII
    if (!chunked) {
      return frame;
    }
    const length = 'id: \n'.length + this.id.length + this.body.length;
    return frame + length.toString(16).length - (length - frame).toString(16).length;
  }

  override get frame(): Buffer {
    return (this.frameBytes ??= this.encode(false));
  }

  override get chunk(): Buffer {
    return (this.chunkBytes ??= this.encode(true));
  }

  /**
   * The id line and the shared body in one allocation; as one HTTP/1.1 chunk when `chunked`. A
   * composite id is ASCII and cannot break its line: every position in it is escaped
   * (CompositeEventId).
   */
  private encode(chunked: boolean): Buffer {
    const idLine = `id: ${this.id}\n`;
    const length = idLine.length + this.body.length;
    const head = chunked ? `${length.toString(16)}\r\n${idLine}` : idLine;
    const buffer = Buffer.allocUnsafe(head.length + this.body.length + (chunked ? 2 : 0));
    buffer.write(head, 0, 'latin1');
    this.body.copy(buffer, head.length);
    if (chunked) {
      buffer[buffer.length - 2] = 0x0d; // CR LF: the chunk's end
      buffer[buffer.length - 1] = 0x0a;
    }
    return buffer;
  }
}

/**
 * Makes MultiplexedEvents. One event goes to all its connections in one synchronous dispatch, so
 * remembering the last one made is enough to encode its body once, and to share the whole event
 * between connections whose composite ids are the same (the same streams, at the same positions).
 */
export class MultiplexedEvents {
  private lastSource?: SseEvent;
  private lastType?: string;
  private lastBody?: Buffer;
  private lastEvent?: MultiplexedEvent;
  private lastAllowance = 0;

  of(source: SseEvent, name: string, id: string): MultiplexedEvent {
    const type = source.type === undefined ? name : `${name}.${source.type}`;
    if (source !== this.lastSource || type !== this.lastType || this.lastBody === undefined) {
      this.lastSource = source;
      this.lastType = type;
      this.lastBody = encodeEventBody({ data: source.data, type });
      this.lastAllowance =
        lineBytes('event', type) -
        (source.type === undefined ? 0 : lineBytes('event', source.type)) -
        lineBytes('id', source.id) +
        'id: \n'.length;
      this.lastEvent = undefined;
    }
    if (this.lastEvent?.id !== id) {
      this.lastEvent = new MultiplexedEvent(id, source, type, this.lastBody, this.lastAllowance);
    }
    return this.lastEvent;
  }
}

/** Bytes of a `<field>: <value>` line. */
function lineBytes(field: string, value: string): number {
  return field.length + 3 + Buffer.byteLength(value, 'utf8');
}
