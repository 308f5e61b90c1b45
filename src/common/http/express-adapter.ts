import { NestApplicationOptions } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import express from 'express';
import * as http from 'node:http';
import { Socket } from 'node:net';

/** How often Node checks requests against headersTimeout/requestTimeout (its default is 30 s). */
const TIMEOUT_CHECK_INTERVAL_MS = 1000;

/**
 * Nest's Express adapter, with an HTTP server that checks its request timeouts every second and closes
 * what will not finish when the application stops. Everything else is Nest's adapter.
 */
export class DrainingExpressAdapter extends ExpressAdapter {
  /** Every open connection, with the latest response it served (undefined before its first request). */
  private readonly connections = new Map<Socket, http.ServerResponse | undefined>();
  /** Sockets corked in this turn of the event loop, uncorked together once it is over. */
  private readonly corked = new Set<Socket>();

  constructor() {
    super();
    const app = this.getInstance<express.Express>();
    parseQueryOnce(app);
    this.flushHeadersWithTheFirstBytes(app);
  }

  /**
   * The HTTP server, made here with Node's documented `connectionsCheckingInterval` option (which a
   * server takes only when it is made) instead of by Nest's adapter, which passes no options. Nest's
   * own version also applies `return503OnClosing` and `forceCloseConnections`; this service sets
   * neither (close() below does the draining), so nothing of Nest's is lost.
   */
  override initHttpServer(options: NestApplicationOptions): void {
    if (options?.httpsOptions) {
      super.initHttpServer(options); // HTTPS is not used by this service: Nest's server as it is
      return;
    }
    const server = http.createServer(
      { connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS },
      this.getInstance<http.RequestListener>(),
    );
    // One listener for every socket (called with the socket as `this`), and `on` since a socket
    // closes once: a closure per connection, and once()'s wrapper, would live as long as it.
    const connections = this.connections;
    const forget = function (this: Socket): void {
      connections.delete(this);
    };
    server.on('connection', (socket: Socket) => {
      connections.set(socket, undefined);
      socket.on('close', forget);
    });
    // Only noted here, per request; whether it is still being answered is read when the app stops.
    server.on('request', (request: http.IncomingMessage, response: http.ServerResponse) => {
      this.connections.set(request.socket, response);
    });
    this.setHttpServer(server);
  }

  /**
   * A stream's headers are flushed on their own (Nest's SSE writer calls flushHeaders()), and its
   * first bytes follow from a timer of the same turn of the event loop: two or three system calls,
   * each costing about as much as the rest of opening the stream. Here flushHeaders() corks the
   * socket until the turn is over, so the headers and what follows them in this turn leave in one
   * write. Nothing waits longer than the end of the current turn.
   */
  private flushHeadersWithTheFirstBytes(app: express.Express): void {
    // eslint-disable-next-line @typescript-eslint/unbound-method -- called below with the response as `this`
    const flushHeaders = http.ServerResponse.prototype.flushHeaders;
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the prototype method needs both
    const adapter = this;
    app.response.flushHeaders = function flushHeadersCorked(this: http.ServerResponse): void {
      // (headersSent is already true here: it says that writeHead() made them, not that they left)
      if (this.socket !== null) {
        adapter.corkUntilTurnEnds(this.socket);
      }
      flushHeaders.call(this);
    };
  }

  private corkUntilTurnEnds(socket: Socket): void {
    if (this.corked.has(socket)) {
      return;
    }
    if (this.corked.size === 0) {
      setImmediate(this.uncorkAll);
    }
    this.corked.add(socket);
    socket.cork();
  }

  private readonly uncorkAll = (): void => {
    for (const socket of this.corked) {
      socket.uncork();
    }
    this.corked.clear();
  };

  /**
   * Stops the server without waiting for clients that will not finish: connections between requests,
   * and requests whose headers or body have not all arrived (a client that stalls half-way would
   * otherwise hold the shutdown until its timeout), are closed at once. Requests that have arrived
   * whole get their answer, and then their connection is closed. (Streams are ended before this.)
   */
  override close(): Promise<unknown> | undefined {
    for (const [socket, response] of this.connections) {
      if (response === undefined || !response.req.complete || response.writableFinished) {
        socket.destroy();
      } else {
        response.once('finish', () => socket.destroy());
      }
    }
    return super.close();
  }
}

/**
 * Express 5 parses `request.query` from the URL again on every read, and a request is read several
 * times (access rules, the route's parameters, the stream's user): here the first read's result is
 * kept on the request. The URL's query does not change while a request is handled.
 */
/** The request's parsed query, kept by parseQueryOnce: an own property of each request that read it. */
const PARSED_QUERY = Symbol('parsedQuery');

/**
 * Lets a request that is done with its query (a stream, once handed off) drop the parsed copy, a
 * null-prototype object (so a slow dictionary) that would otherwise live as long as the stream.
 * A later read parses it again. Cleared by assignment, so the request keeps its object shape.
 */
export function forgetParsedQuery(request: http.IncomingMessage): void {
  const carrier = request as http.IncomingMessage & { [PARSED_QUERY]?: unknown };
  if (carrier[PARSED_QUERY] !== undefined) {
    carrier[PARSED_QUERY] = undefined;
  }
}

function parseQueryOnce(app: express.Express): void {
  // eslint-disable-next-line @typescript-eslint/unbound-method -- called below with the request as `this`
  const parse = Object.getOwnPropertyDescriptor(express.request, 'query')?.get;
  if (parse === undefined) {
    return; // not Express 5's getter: leave it as it is
  }
  const parsed = PARSED_QUERY;
  Object.defineProperty(app.request, 'query', {
    configurable: true,
    enumerable: true,
    get(this: express.Request & { [parsed]?: unknown }): unknown {
      let query = this[parsed];
      if (query === undefined) {
        query = parse.call(this);
        this[parsed] = query;
      }
      return query;
    },
  });
}
