import { Inject, Injectable } from '@nestjs/common';
import { ParsedRecord } from '../bus/message-bus.interface';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { encodedEventBytes } from './sse-framing';
import { EventTooLargeError } from './sse.errors';

/**
 * Room left for an event's id beyond the topic's newest position now: positions grow by a digit
 * now and then, never by this much between a publish and its delivery.
 */
const ID_GROWTH = 8;

/**
 * The largest event a stream can carry: one whose bytes fit a connection's buffer bound
 * (SSE_MAX_BUFFER_BYTES) with nothing else waiting. A bigger one would have every stream it goes to
 * dropped as a slow reader, so it is refused before it is published. One for the app (SseModule),
 * used by every publishing feature.
 */
@Injectable()
export class StreamFit {
  private readonly maxBufferBytes: number;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.maxBufferBytes = config.SSE_MAX_BUFFER_BYTES;
  }

  /** The bytes the event would take, when that is over the bound; undefined when it fits. */
  excess(data: string, idLength: number | (() => number), type?: string): number | undefined {
    // A character takes at most 7 bytes (a line break: a `data: ` line of its own): most messages
    // fit without counting. Ids are short (a position).
    if ((data.length + 1) * 7 + 512 <= this.maxBufferBytes) {
      return undefined;
    }
    const length = typeof idLength === 'number' ? idLength : idLength();
    const bytes = encodedEventBytes(data, length + ID_GROWTH, type);
    return bytes > this.maxBufferBytes ? bytes : undefined;
  }

  /** For publish routes: refuses (413, by the filter) a message that cannot reach a stream. */
  assertFits(data: string, idLength: number, type?: string): void {
    const bytes = this.excess(data, idLength, type);
    if (bytes !== undefined) {
      throw new EventTooLargeError(bytes, this.maxBufferBytes);
    }
  }

  /**
   * For records of other producers, read from Kafka: one too big for a stream is skipped (logged
   * and counted by the bus), as a malformed one is. `data` gives the event's data from the record.
   */
  parser(
    idLength: () => number,
    data: (value: string) => string = (value) => value,
    parse: (value: string, key: string | null) => ParsedRecord = (_value, key) => ({ key }),
  ): (value: string, key: string | null) => ParsedRecord {
    return (value, key) => {
      const parsed = parse(value, key);
      if ('error' in parsed) {
        return parsed;
      }
      const bytes = this.excess(data(value), idLength);
      return bytes === undefined
        ? parsed
        : {
            error: `too large for a stream: ${bytes} bytes as an event, over SSE_MAX_BUFFER_BYTES (${this.maxBufferBytes})`,
          };
    };
  }
}
