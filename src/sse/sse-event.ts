import { encodeEvent, encodeId, SseFields, toHttpChunk } from './sse-framing';

/**
 * An event as streams emit it. Its bytes are encoded on first use and kept, so an event sent to
 * ten thousand connections is encoded once and the same Buffer is written to each.
 */
export class SseEvent implements SseFields {
  private encodedFrame?: Buffer;
  private encodedChunk?: Buffer;

  constructor(
    readonly id: string,
    readonly data: string,
    readonly type?: string,
  ) {}

  /** The event in text/event-stream framing. */
  get frame(): Buffer {
    return (this.encodedFrame ??= encodeEvent(this));
  }

  /** The frame as one HTTP/1.1 chunk, for connections the SSE layer writes to directly. */
  get chunk(): Buffer {
    return (this.encodedChunk ??= toHttpChunk(this.frame));
  }

  /**
   * Bytes this event's frame (its chunk when `chunked`) takes beyond the frame its own stream's
   * route makes of it: none here. Publishing checks an event against the buffer bound at that
   * route's size, so a connection that frames it larger (GET /sse) does not count the difference.
   */
  framingAllowance(_chunked: boolean): number {
    return 0;
  }
}

/**
 * A block with an `id:` and no data: it sets the client's last event id (its resume point) without
 * dispatching an event. Sent when a stream's position is known before any event.
 */
export class SsePositionMarker extends SseEvent {
  private encodedMarker?: Buffer;

  constructor(id: string) {
    super(id, '');
  }

  override get frame(): Buffer {
    return (this.encodedMarker ??= encodeId(this.id));
  }
}
