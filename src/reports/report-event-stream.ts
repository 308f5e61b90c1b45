import { Observable } from 'rxjs';
import { MessageBus } from '../bus/message-bus.interface';
import { SseEvent } from '../sse/sse-event';
import { HISTORY_GAP_EVENT } from '../sse/topic-event-stream';
import { ReportEvent } from './report';
import { decodeReportEvent } from './outbox-relay';
import { REPORT_STATUS_EVENT, REPORT_UPDATES_TOPIC } from './reports.constants';
import { ReportsRepository } from './reports.repository';

const REPLAY_PAGE = 1_000;
const EVENT_ID = /^\d{1,19}$/;

/**
 * A user's report events as SSE. Ids are the outbox ids of the database, so a stream resumes from
 * the database, on any instance and across restarts: it listens to the bus first, replays what
 * followed Last-Event-ID from the store, then goes on with live events it has not sent yet. Ids
 * only grow, so "not sent yet" is "greater than the last id sent", which also drops an event the
 * relay published twice.
 */
export function reportEventStream(
  bus: MessageBus,
  repository: ReportsRepository,
  userId: string,
  lastEventId?: string,
): Observable<SseEvent> {
  return new Observable<SseEvent>((subscriber) => {
    let lastSent = 0n;
    let held: ReportEvent[] | undefined = [];
    const send = (event: ReportEvent) => {
      const id = BigInt(event.id);
      if (id <= lastSent) {
        return;
      }
      lastSent = id;
      subscriber.next(
        new SseEvent(
          event.id,
          JSON.stringify({ id: event.reportId, status: event.status }),
          REPORT_STATUS_EVENT,
        ),
      );
    };
    const live = bus.subscribe(REPORT_UPDATES_TOPIC, { key: userId }).subscribe({
      next: (delivery) => {
        if ('gap' in delivery) {
          return; // live only: there is no gap before the first record
        }
        const event = decodeReportEvent(delivery.value);
        if (held) {
          held.push(event);
        } else {
          send(event);
        }
      },
      error: (error: unknown) => subscriber.error(error),
    });

    const replay = async () => {
      const latest = await repository.latestEventId(userId);
      // An id above the newest one is not of this store (it was reset): go on from now, and say so.
      if (lastEventId !== undefined && EVENT_ID.test(lastEventId) && BigInt(lastEventId) <= BigInt(latest)) {
        lastSent = BigInt(lastEventId);
        for (;;) {
          const page = await repository.eventsAfter(userId, lastSent.toString(), REPLAY_PAGE);
          page.forEach(send);
          if (page.length < REPLAY_PAGE || subscriber.closed) {
            break;
          }
        }
      } else {
        if (lastEventId !== undefined) {
          subscriber.next(gapEvent(lastEventId, latest));
        }
        lastSent = BigInt(latest);
      }
      const waiting = held ?? [];
      held = undefined;
      waiting.forEach(send);
    };
    replay().catch((error: unknown) => subscriber.error(error));
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
