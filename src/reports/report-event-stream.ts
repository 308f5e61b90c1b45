import { Observable } from 'rxjs';
import { isBusRecord, MessageBus } from '../bus/message-bus.interface';
import { SseEvent } from '../sse/sse-event';
import { NextReplayEvent, SseItem, SseReplay } from '../sse/sse-replay';
import { HISTORY_GAP_EVENT } from '../sse/topic-event-stream';
import { ReportEvent } from './report';
import { ReportEventIds } from './report-event-ids';
import { decodeReportEvent } from './report-event.codec';
import type { ReportStatusUpdate } from '../multiplex/stream-contract';
import { REPORT_STATUS_EVENT, REPORT_UPDATES_TOPIC } from './reports.constants';
import { ReportsRepository } from './reports.repository';

const REPLAY_PAGE = 1_000;
/**
 * Live events held while the replay is read, at most. Beyond that they are let go and the replay
 * reads on from the store, which has them all: a slow reader holds a page, not the live traffic.
 */
const MAX_HELD = 1_000;
const EVENT_ID = /^\d{1,19}$/;

/**
 * A user's report events as SSE. Ids are the outbox ids of the database, so a stream resumes from
 * the database, on any instance and across restarts: it listens to the bus first, replays what
 * followed Last-Event-ID from the store (page by page, as the client reads), then goes on with live
 * events it has not sent yet. Ids only grow, so "not sent yet" is "greater than the last id sent",
 * which also drops an event the relay published twice. Records anyone else wrote to the topic are
 * checked first: a malformed one, or one with an id the store never issued, is skipped.
 */
export function reportEventStream(
  bus: MessageBus,
  repository: ReportsRepository,
  knownIds: ReportEventIds,
  userId: string,
  lastEventId?: string,
): Observable<SseItem> {
  return new Observable<SseItem>((subscriber) => {
    let lastSent = 0n;
    /** Live events that came during the replay; undefined once it is over. */
    let held: ReportEvent[] | undefined = [];
    /** Live events were let go during the replay: it reads the store again before going live. */
    let letGo = false;
    const accept = (event: ReportEvent) => {
      if (held === undefined) {
        const ready = eventToSend(event);
        if (ready) {
          subscriber.next(ready);
        }
      } else if (held.length < MAX_HELD) {
        held.push(event);
      } else {
        held = [];
        letGo = true;
      }
    };
    const eventToSend = (event: ReportEvent): SseEvent | undefined => {
      const id = BigInt(event.id);
      if (id <= lastSent) {
        return undefined;
      }
      lastSent = id;
      return new SseEvent(
        event.id,
        JSON.stringify({ id: event.reportId, status: event.status } satisfies ReportStatusUpdate),
        REPORT_STATUS_EVENT,
      );
    };
    // Records whose id the store is asked about keep their order: those after one wait for it.
    let checking: Promise<unknown> | undefined;
    let waitingChecks = 0;
    const live = bus.subscribe(REPORT_UPDATES_TOPIC, { key: userId }).subscribe({
      next: (delivery) => {
        if (!isBusRecord(delivery)) {
          return; // live only: no gap or replay comes
        }
        const event = decodeReportEvent(delivery.value, delivery.key);
        if ('error' in event) {
          knownIds.reject(delivery, event.error, 'malformed');
          return;
        }
        const verdict = knownIds.check(delivery, event.id);
        if (verdict === true && waitingChecks === 0) {
          accept(event);
          return;
        }
        waitingChecks++;
        checking = Promise.all([checking, verdict]).then(
          ([, real]) => {
            waitingChecks--;
            if (real) {
              accept(event);
            }
          },
          // The store cannot say: end the stream; the client resumes from the store once it is back.
          (error: unknown) => subscriber.error(error),
        );
      },
      error: (error: unknown) => subscriber.error(error),
    });

    let page: ReportEvent[] = [];
    let pageAt = 0;
    let more = true;
    /** The held events, once the store is read to the end: made in order at once, sent as read. */
    let tail: SseEvent[] | undefined;
    /** The replay's next event: from the page at hand, the next page, then what was held. */
    const next = (): NextReplayEvent => {
      for (;;) {
        if (subscriber.closed) {
          return undefined;
        }
        if (tail) {
          return tail.shift();
        }
        while (pageAt < page.length) {
          const ready = eventToSend(page[pageAt++]);
          if (ready) {
            return ready;
          }
        }
        if (more) {
          return repository.eventsAfter(userId, lastSent.toString(), REPLAY_PAGE).then(
            (events) => {
              page = events;
              pageAt = 0;
              more = events.length === REPLAY_PAGE || letGo;
              letGo = false;
              return next();
            },
            (error: unknown) => {
              subscriber.error(error);
              return undefined;
            },
          );
        }
        if (letGo) {
          more = true; // live events were let go meanwhile: the store has them
          letGo = false;
          continue;
        }
        // Live from here: later events go out behind these, so their ids are taken now, in order.
        tail = (held ?? []).map(eventToSend).filter((event) => event !== undefined);
        held = undefined;
      }
    };

    const start = async () => {
      const latest = await repository.latestEventId(userId);
      // An id above the newest one is not of this store (it was reset): go on from now, and say so.
      if (lastEventId !== undefined && EVENT_ID.test(lastEventId) && BigInt(lastEventId) <= BigInt(latest)) {
        lastSent = BigInt(lastEventId);
        subscriber.next(new SseReplay(lastSent.toString(), next));
        return;
      }
      if (lastEventId !== undefined) {
        subscriber.next(gapEvent(lastEventId, latest));
      }
      lastSent = BigInt(latest);
      more = false;
      subscriber.next(new SseReplay(latest, next));
    };
    start().catch((error: unknown) => subscriber.error(error));
    return () => live.unsubscribe();
  });
}

function gapEvent(requested: string, resumeAfter: string): SseEvent {
  const data = JSON.stringify({
    lastEventId: requested,
    resumedAfter: resumeAfter,
    message: 'lastEventId is not an event id of this store; the stream goes on from now.',
  });
  return new SseEvent(resumeAfter, data, HISTORY_GAP_EVENT);
}
