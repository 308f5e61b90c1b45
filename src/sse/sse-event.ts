import { encodeEvent, SseFields, toHttpChunk } from './sse-framing';

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
}
