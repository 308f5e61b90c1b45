import type { PublishData, StreamEvent, StreamName } from '../../src/multiplex/stream-contract.js';
import { GatewayError, serverMessage } from './gateway-error.js';
import type { Hub, HubEvent, HubListener } from './hub.js';
import { LocalHub, LocalHubOptions } from './local-hub.js';
import { checkStreamName } from './stream-names.js';

export interface ClientOptions extends Omit<LocalHubOptions, 'baseUrl'> {
  /** The gateway: `http://localhost:3000`. In a browser, the page's origin when left out. */
  baseUrl?: string;
  /**
   * Share one connection among the tabs of this origin (the default in browsers); a Node process,
   * or `false`, has one connection of its own.
   */
  shareAcrossTabs?: boolean;
}

/** What a subscription is told: each event of its stream, typed; a gap in its history; a refusal. */
export interface SubscriptionHandlers<E> {
  onEvent(event: E): void;
  /** Events were missed (the history no longer reached back): refetch what the stream describes. */
  onGap?(): void;
  /** The gateway refused the stream (a 4xx), or its data could not be read: not retried. */
  onError?(error: GatewayError): void;
}

export interface Subscription {
  readonly stream: string;
  /** The last position delivered to this stream's subscriptions. */
  readonly position: string | undefined;
  close(): void;
}

/** An event as a subscription gets it: the stream's `type` and `data`, and its position. */
export type ClientEvent<N extends StreamName> = StreamEvent<N> & { stream: N; position: string };
/** A `kafka:` stream's event whose data the caller names. */
export type KafkaEvent<T> = { type: undefined; data: T; stream: `kafka:${string}`; position: string };

export interface Client {
  subscribe<N extends StreamName>(stream: N, handlers: SubscriptionHandlers<ClientEvent<N>>): Subscription;
  /** A `kafka:<topic>` stream whose records the caller knows: `subscribe<Click>('kafka:clicks', …)`. */
  subscribe<T>(stream: `kafka:${string}`, handlers: SubscriptionHandlers<KafkaEvent<T>>): Subscription;
  /**
   * Publishes over the stream's own publish route (v2/v3 message, POST /events, POST /kafka/<topic>);
   * resolves with the event's id, rejects with the server's message on a 4xx.
   */
  publish<N extends StreamName>(stream: N, data: PublishData<N>): Promise<{ id?: string }>;
  /** Every subscription's stream and position. */
  positions(): Record<string, string>;
  /** Ends every subscription and lets go of every connection and timer. */
  close(): void;
}

/** How a browser build makes its hub shared by the tabs of an origin; set by the tab-sharing module. */
export type HubFactory = (options: LocalHubOptions) => Hub;
let sharedHubFactory: HubFactory | undefined;

/** Makes `createClient` share connections among tabs with this hub (the browser default). */
export function useSharedHub(factory: HubFactory): void {
  sharedHubFactory = factory;
}

export function createClient(options: ClientOptions = {}): Client {
  const inBrowser = typeof (globalThis as { document?: unknown }).document !== 'undefined';
  const origin = (globalThis as { location?: { origin?: string } }).location?.origin;
  const baseUrl = options.baseUrl ?? origin;
  if (baseUrl === undefined) {
    throw new TypeError('createClient needs a baseUrl outside a browser page');
  }
  const hubOptions: LocalHubOptions = { ...options, baseUrl };
  const share = options.shareAcrossTabs ?? inBrowser;
  const hub: Hub =
    share && sharedHubFactory !== undefined ? sharedHubFactory(hubOptions) : new LocalHub(hubOptions);
  const subscriptions = new Set<() => void>();
  let closed = false;

  const subscribe = (
    stream: string,
    handlers: SubscriptionHandlers<ClientEvent<StreamName>>,
  ): Subscription => {
    if (closed) {
      throw new Error('The client is closed');
    }
    checkStreamName(stream);
    const parse = parserOf(stream);
    let open = true;
    const listener: HubListener = {
      event(e: HubEvent) {
        let data: unknown;
        try {
          data = parse(e.data);
        } catch (error) {
          handlers.onError?.(
            new GatewayError(
              0,
              `an event of ${JSON.stringify(stream)} is not JSON: ${String(error)}`,
              stream,
            ),
          );
          return;
        }
        handlers.onEvent({ stream, type: e.type, data, position: e.position } as ClientEvent<StreamName>);
      },
      gap() {
        handlers.onGap?.();
      },
      error(_stream, err) {
        end();
        handlers.onError?.(err);
      },
    };
    const end = (): void => {
      if (open) {
        open = false;
        subscriptions.delete(end);
        hub.remove(stream, listener);
      }
    };
    subscriptions.add(end);
    hub.add(stream, listener);
    return {
      stream,
      get position() {
        return hub.positions()[stream];
      },
      close: end,
    };
  };

  const publish = async (stream: string, data: unknown): Promise<{ id?: string }> => {
    checkStreamName(stream);
    const route = publishRoute(baseUrl, stream, data);
    const headers: Record<string, string> = { 'content-type': route.contentType };
    const token = await options.token?.();
    if (token !== undefined) {
      headers.authorization = `Bearer ${token}`;
    }
    const fetcher = options.fetch ?? globalThis.fetch.bind(globalThis);
    const response = await fetcher(route.url, { method: 'POST', headers, body: route.body });
    const text = await response.text();
    if (!response.ok) {
      throw new GatewayError(response.status, serverMessage(text, response.status), stream);
    }
    try {
      return JSON.parse(text) as { id?: string };
    } catch {
      return {};
    }
  };

  return {
    subscribe,
    publish,
    positions: () => hub.positions(),
    close() {
      if (closed) {
        return;
      }
      closed = true;
      for (const end of [...subscriptions]) {
        end();
      }
      hub.close();
    },
  };
}

/** How a stream's `data:` text becomes its typed data: JSON for reports, temperature and Kafka records that are JSON. */
function parserOf(stream: string): (text: string) => unknown {
  if (stream.startsWith('reports:') || stream.startsWith('temperature:')) {
    return (text) => JSON.parse(text) as unknown;
  }
  if (stream.startsWith('kafka:')) {
    // A record's value is sent as it is: JSON when a producer wrote JSON, text otherwise.
    return (text) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        return text;
      }
    };
  }
  return (text) => text;
}

function publishRoute(
  baseUrl: string,
  stream: string,
  data: unknown,
): { url: string; body: string; contentType: string } {
  const colon = stream.indexOf(':');
  const prefix = colon < 0 ? stream : stream.slice(0, colon);
  const parameter = stream.slice(colon + 1);
  const text = (): string => {
    if (typeof data !== 'string') {
      throw new TypeError(`${JSON.stringify(stream)} takes text to publish, not ${typeof data}`);
    }
    return data;
  };
  switch (prefix) {
    case 'v2':
    case 'v3': {
      const url = new URL(`/${prefix}/message`, baseUrl);
      url.searchParams.set('username', parameter);
      return { url: url.toString(), body: text(), contentType: 'text/plain; charset=utf-8' };
    }
    case 'broadcast':
      return {
        url: new URL('/events', baseUrl).toString(),
        body: text(),
        contentType: 'text/plain; charset=utf-8',
      };
    case 'kafka': {
      const keyAt = parameter.indexOf(':');
      const topic = keyAt < 0 ? parameter : parameter.slice(0, keyAt);
      const url = new URL(`/kafka/${encodeURIComponent(topic)}`, baseUrl);
      if (keyAt >= 0) {
        url.searchParams.set('key', parameter.slice(keyAt + 1));
      }
      return typeof data === 'string'
        ? { url: url.toString(), body: data, contentType: 'text/plain; charset=utf-8' }
        : { url: url.toString(), body: JSON.stringify(data), contentType: 'application/json' };
    }
    default:
      throw new TypeError(
        `${JSON.stringify(stream)} has no publish route: reports and temperature change through their own routes`,
      );
  }
}
