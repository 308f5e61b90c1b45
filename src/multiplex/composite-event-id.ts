import { MAX_EVENT_ID_LENGTH } from '../sse/last-event-id.decorator';
import { MAX_STREAMS } from './stream-catalog';

/**
 * The longest composite id taken back as Last-Event-ID: a tag and one position per stream, each at
 * most as long as a single stream's id. About 5 KB, within what HTTP servers take in a header
 * (Node: 16 KB for all of them); real ids are far shorter (ten bytes or so per stream).
 */
export const MAX_COMPOSITE_ID_LENGTH = 16 + MAX_STREAMS * (MAX_EVENT_ID_LENGTH + 1);

/**
 * What a stream resumes after when the id was issued for another list of streams, or is not a
 * composite id: no position of this stream, so the stream sends its gap notice and goes on.
 */
export const UNKNOWN_POSITION = 'unknown';

const SEPARATOR = ',';
/** Characters a position keeps as it is; anything else is percent-encoded, so no id can break a line. */
const PLAIN = /^[A-Za-z0-9._~:@+=-]*$/;

/**
 * The event ids of a multiplexed connection: `<tag>,<position>,<position>…`, one position per
 * stream in the order of the request, each the id of the last event of that stream sent (empty
 * before the stream has one). The tag is a hash of the stream names in that order, so an id is
 * only taken back by a connection with the same streams, on any instance.
 */
export class CompositeEventId {
  private readonly tag: string;

  constructor(private readonly names: readonly string[]) {
    this.tag = fnv1a(names.join('\n')).toString(36);
  }

  encode(positions: readonly string[]): string {
    let id = this.tag;
    for (const position of positions) {
      id += SEPARATOR + escapePosition(position);
    }
    return id;
  }

  /**
   * The ids of one connection, as its streams move: each position is escaped once, when it
   * changes, and an id is made by joining them.
   */
  tracker(initial: readonly string[]): CompositeIdTracker {
    return new CompositeIdTracker(this.tag, initial);
  }

  /** Whether `id` is an id of this list of streams (same names, same order). */
  owns(id: string | undefined): boolean {
    if (id === undefined) {
      return false;
    }
    const parts = id.split(SEPARATOR);
    return parts[0] === this.tag && parts.length === this.names.length + 1;
  }

  /**
   * Each stream's position in `id`: undefined for a stream without one (it starts afresh), and
   * UNKNOWN_POSITION for every stream when the id is not one of this list of streams.
   */
  decode(id: string | undefined): (string | undefined)[] {
    if (id === undefined) {
      return this.names.map(() => undefined);
    }
    const parts = id.split(SEPARATOR);
    if (parts[0] !== this.tag || parts.length !== this.names.length + 1) {
      return this.names.map(() => UNKNOWN_POSITION);
    }
    return parts.slice(1).map((part) => {
      if (part === '') {
        return undefined;
      }
      try {
        return part.includes('%') ? decodeURIComponent(part) : part;
      } catch {
        return UNKNOWN_POSITION;
      }
    });
  }
}

/** 32-bit FNV-1a over UTF-16 code units: a short, stable tag (not a security measure). */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** Every stream's position on one connection, and the composite id they make. */
export class CompositeIdTracker {
  private readonly positions: string[];
  private readonly escaped: string[];

  constructor(
    private readonly tag: string,
    initial: readonly string[],
  ) {
    this.positions = [...initial];
    this.escaped = initial.map(escapePosition);
  }

  position(index: number): string {
    return this.positions[index];
  }

  /** Moves a stream to `position`; false when it was there already. */
  move(index: number, position: string): boolean {
    if (this.positions[index] === position) {
      return false;
    }
    this.positions[index] = position;
    this.escaped[index] = escapePosition(position);
    return true;
  }

  get id(): string {
    return `${this.tag}${SEPARATOR}${this.escaped.join(SEPARATOR)}`;
  }
}

function escapePosition(position: string): string {
  return PLAIN.test(position) ? position : encodeURIComponent(position);
}
