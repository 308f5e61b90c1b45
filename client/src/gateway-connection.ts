import { createParser } from 'eventsource-parser';
import { retryAfterMs } from './backoff.js';
import { serverMessage } from './gateway-error.js';

/** One frame of `GET /sse` as it arrived: `event:`, `data:` (undefined for an id-only block), `id:`. */
export interface Frame {
  event?: string;
  data?: string;
  id?: string;
}

/** How a connection ended: an answer other than a stream (status, message), or a stream that stopped. */
export interface Ending {
  /** HTTP status of a refusal; 0 when the request failed or the stream ended after it opened. */
  status: number;
  message: string;
  retryAfterMs?: number;
}

export interface ConnectionEvents {
  /** The stream is open: the gateway answered 200 with an event stream. */
  open(): void;
  frame(frame: Frame): void;
  retry(ms: number): void;
  /** Bytes arrived (an event, a comment, a keep-alive): the connection is alive. */
  activity(): void;
  /** Called once, unless the connection was closed by `close()`. */
  end(ending: Ending): void;
}

export interface ConnectionOptions {
  url: string;
  token?: string;
  /** Where a streaming `fetch` is missing: an EventSource implementation; the token goes in the URL then. */
  eventSource?: EventSourceConstructor;
  fetch: typeof fetch;
}

/** The constructor of a WHATWG EventSource (the browser's, or a Node implementation). */
export type EventSourceConstructor = new (url: string) => EventSourceLike;
export interface EventSourceLike {
  readonly readyState: number;
  onopen: ((event: unknown) => void) | null;
  onerror: ((event: unknown) => void) | null;
  addEventListener(type: string, listener: (event: { data: string; lastEventId: string }) => void): void;
  close(): void;
}

/** One `GET /sse` request, read until it ends or is closed. */
export interface GatewayConnection {
  close(): void;
}

/**
 * Opens the stream with a streamed `fetch`, so the token travels in the Authorization header and
 * never in the URL (where proxy logs and history would keep it).
 */
export function openFetchConnection(options: ConnectionOptions, events: ConnectionEvents): GatewayConnection {
  const abort = new AbortController();
  let closed = false;
  let ended = false;
  const end = (ending: Ending): void => {
    if (!closed && !ended) {
      ended = true;
      events.end(ending);
    }
  };
  const headers: Record<string, string> = { accept: 'text/event-stream' };
  if (options.token !== undefined) {
    headers.authorization = `Bearer ${options.token}`;
  }
  void (async () => {
    const response = await options.fetch(options.url, { headers, signal: abort.signal, cache: 'no-store' });
    if (!response.ok) {
      const text = await response.text().catch(() => '');
      end({
        status: response.status,
        message: serverMessage(text, response.status),
        retryAfterMs: retryAfterMs(response.headers.get('retry-after')),
      });
      return;
    }
    const type = response.headers.get('content-type') ?? '';
    if (!type.startsWith('text/event-stream') || response.body === null) {
      await response.body?.cancel().catch(() => undefined);
      end({
        status: 0,
        message: `GET /sse answered ${response.status} with ${type || 'no content type'}, not an event stream`,
      });
      return;
    }
    if (closed) {
      return;
    }
    events.open();
    // The parser reports a block's id before its event, and an id-only block (streams moved
    // without an event) by its id alone: an id is an id-only frame unless an event follows it.
    let pendingId: string | undefined;
    const flushId = (): void => {
      if (pendingId !== undefined) {
        const id = pendingId;
        pendingId = undefined;
        events.frame({ id });
      }
    };
    const parser = createParser({
      onId: (id) => {
        flushId();
        pendingId = id;
      },
      onEvent: (message) => {
        pendingId = undefined;
        events.frame({ event: message.event, data: message.data, id: message.id });
      },
      onRetry: (ms) => events.retry(ms),
    });
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done || closed) {
        break;
      }
      events.activity();
      parser.feed(value);
      flushId();
    }
    end({ status: 0, message: 'the stream ended' });
  })().catch((error: unknown) => {
    end({ status: 0, message: error instanceof Error ? error.message : String(error) });
  });
  return {
    close() {
      closed = true;
      abort.abort();
    },
  };
}

/**
 * The fallback where a streaming `fetch` is missing: EventSource cannot send headers, so the token
 * goes in `access_token`. It cannot tell a refusal from a lost network either: both end it.
 */
export function openEventSourceConnection(
  options: ConnectionOptions & { eventSource: EventSourceConstructor },
  eventNames: readonly string[],
  events: ConnectionEvents,
): GatewayConnection {
  const url = new URL(options.url);
  if (options.token !== undefined) {
    url.searchParams.set('access_token', options.token);
  }
  const source = new options.eventSource(url.toString());
  let closed = false;
  source.onopen = () => {
    if (!closed) {
      events.open();
    }
  };
  source.onerror = () => {
    if (!closed) {
      closed = true;
      source.close();
      events.end({ status: 0, message: 'the EventSource connection failed or ended' });
    }
  };
  for (const name of eventNames) {
    source.addEventListener(name, (message) => {
      if (!closed) {
        events.activity();
        events.frame({ event: name, data: message.data, id: message.lastEventId });
      }
    });
  }
  return {
    close() {
      closed = true;
      source.close();
    },
  };
}
