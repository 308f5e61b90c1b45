import { Inject, Injectable } from '@nestjs/common';
import { Observable, Subscription } from 'rxjs';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { encodeEventBody } from '../sse/sse-framing';
import { SseEvent, SsePositionMarker } from '../sse/sse-event';
import { NextReplayEvent, SseItem, SseReplay } from '../sse/sse-replay';
import { SlowReaderError } from '../sse/sse.errors';
import { MAX_EVENT_ID_LENGTH } from '../sse/topic-event-stream';
import { MAX_STREAMS, RequestedStream } from './stream-catalog';

/*
 * How several streams become one connection of GET /sse, in the order a request meets it:
 * Multiplexer.open decodes the Last-Event-ID into each stream's position and opens each stream;
 * multiplexStreams merges their events in write order; CompositeEventId makes the id of each
 * event (every stream's position); MultiplexedEvent makes its bytes.
 */

/** Opens the streams a multiplexed connection carries, each after its position in `lastEventId`. */
@Injectable()
export class Multiplexer {
  /** Shared by every connection: an event's body is encoded once however many carry it. */
  private readonly events = new MultiplexedEvents();
  private readonly maxQueuedBytes: number;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.maxQueuedBytes = config.SSE_MAX_BUFFER_BYTES;
  }

  /**
   * `positions` (one per stream, '' for none) apply when the list changed: an id of this list is
   * newer than positions a client wrote into the URL, and wins (EventSource sends it on reconnect).
   */
  open(
    streams: readonly RequestedStream[],
    lastEventId?: string,
    positions?: readonly string[],
  ): Observable<SseItem> {
    const maxQueuedBytes = this.maxQueuedBytes * eventCopiesOf(streams);
    const ids = new CompositeEventId(streams.map((stream) => stream.name));
    const resumeAt =
      positions !== undefined && !ids.owns(lastEventId)
        ? positions.map((position) => (position === '' ? undefined : position))
        : ids.decode(lastEventId);
    return multiplexStreams(
      streams.map((stream, index) => ({
        name: stream.name,
        events: stream.kind.open(stream.parameter, resumeAt[index]),
        position: resumeAt[index] ?? '',
      })),
      ids,
      this.events,
      maxQueuedBytes,
    );
  }
}

/**
 * How many times one event can reach a connection carrying these streams: twice when it carries a
 * stream and one that is part of it (`kafka:<topic>` and `kafka:<topic>:<key>`), else once. Its
 * bounds are that many times the one of a single stream, so that every event a publish accepted fits.
 */
export function eventCopiesOf(streams: readonly RequestedStream[]): number {
  const names = new Set(streams.map(({ kind, parameter }) => `${kind.prefix}:${parameter}`));
  return streams.some(({ kind, parameter }) => {
    const parent = kind.parentOf?.(parameter);
    return parent !== undefined && names.has(`${kind.prefix}:${parent}`);
  })
    ? 2
    : 1;
}

/** One stream of a multiplexed connection: its name, its events, where it resumes from. */
export interface StreamSource {
  readonly name: string;
  readonly events: Observable<SseItem>;
  /** The position it resumes after, or '' when it starts afresh. */
  readonly position: string;
}

/**
 * Several streams on one connection. Each event goes out under its stream's name with a composite
 * id: every stream's position as of that event, so a client that resumes from it gets from each
 * stream exactly what it had not sent.
 *
 * That needs ids to be made in the order events are written. Live events are, as they come. A
 * replay (SseReplay) is read at the client's pace, later: while one is being read, everything
 * that comes (live events of other streams, their replays) waits here behind it, and the whole is
 * handed to the connection as one replay whose events get their ids as the connection takes them.
 * What waits is bounded like the connection's own backlog (`maxQueuedBytes`): beyond it the client
 * is dropped as a slow reader.
 */
export function multiplexStreams(
  sources: readonly StreamSource[],
  ids: CompositeEventId,
  events: MultiplexedEvents,
  maxQueuedBytes: number,
): Observable<SseItem> {
  return new Observable<SseItem>((subscriber) => {
    const positions = ids.tracker(sources.map((source) => source.position));
    /** Items that came while a replay is read, with the index of their stream, in order. */
    let queue: { index: number; item: SseItem; started?: boolean }[] = [];
    let queuedBytes = 0;
    /** A replay of this connection is in the connection's hands: items wait in `queue`. */
    let replaying = false;

    const mapped = (index: number, event: SseEvent): SseEvent => {
      positions.move(index, event.id);
      return event instanceof SsePositionMarker
        ? new SsePositionMarker(positions.id)
        : events.of(event, sources[index].name, positions.id);
    };

    /** The next event of the connection's replay: from the queue, ids made now, in write order. */
    const next = (): NextReplayEvent => {
      for (;;) {
        const head = queue[0];
        if (head === undefined) {
          replaying = false;
          return undefined;
        }
        const { index, item } = head;
        if (item instanceof SseEvent) {
          queue.shift();
          queuedBytes -= item.frame.length;
          return mapped(index, item);
        }
        if (!head.started) {
          head.started = true;
          if (item.position !== undefined && positions.move(index, item.position)) {
            return new SsePositionMarker(positions.id);
          }
        }
        const event = item.next();
        if (event instanceof Promise) {
          return event.then((fetched) => {
            if (fetched === undefined) {
              queue.shift();
              return next();
            }
            return mapped(index, fetched);
          });
        }
        if (event === undefined) {
          queue.shift();
          continue;
        }
        return mapped(index, event);
      }
    };

    const take = (index: number, item: SseItem) => {
      if (!replaying && item instanceof SseEvent) {
        subscriber.next(mapped(index, item));
        return;
      }
      queue.push({ index, item });
      if (item instanceof SseEvent) {
        // At the size its own route sends it, which publishing checked against the bound: the
        // names and composite id this connection adds do not count.
        queuedBytes += item.frame.length;
        if (queuedBytes > maxQueuedBytes) {
          queue = [];
          subscriber.error(
            new SlowReaderError('slow reader disconnected: live events piled up behind a replay'),
          );
          return;
        }
      }
      if (!replaying) {
        replaying = true;
        subscriber.next(new SseReplay(undefined, next));
      }
    };

    const subscriptions = new Subscription();
    let open = sources.length;
    sources.forEach((source, index) => {
      if (subscriber.closed) {
        return;
      }
      subscriptions.add(
        source.events.subscribe({
          next: (item) => take(index, item),
          error: (error: unknown) => subscriber.error(error),
          complete: () => {
            if (--open === 0) {
              subscriber.complete();
            }
          },
        }),
      );
    });
    return () => {
      subscriptions.unsubscribe();
      queue = [];
    };
  });
}

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
