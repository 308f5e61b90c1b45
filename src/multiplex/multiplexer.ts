import { Inject, Injectable } from '@nestjs/common';
import { Observable } from 'rxjs';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { SseItem } from '../sse/sse-replay';
import { CompositeEventId } from './composite-event-id';
import { MultiplexedEvents } from './multiplexed-event';
import { multiplexStreams } from './multiplexed-stream';
import { RequestedStream } from './stream-catalog';

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
