import { NestApplicationOptions } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import * as http from 'node:http';
import { Socket } from 'node:net';

/** How often Node checks requests against headersTimeout/requestTimeout (its default is 30 s). */
const TIMEOUT_CHECK_INTERVAL_MS = 1000;

/**
 * Nest's Express adapter, with a server whose requests and responses are born with Express's own
 * prototypes (`app.request`, `app.response`).
 *
 * Express gives each request and response those prototypes with `Object.setPrototypeOf` as it
 * starts handling them, and V8 then often makes a hidden class (a map and its descriptor array) for
 * that one object: about 1.6 KB per request, which an idle SSE stream keeps as long as it is open.
 * Here the server creates them as instances of subclasses of Node's classes whose prototypes are
 * `app.request` and `app.response` (same properties, same chain), so Express's `setPrototypeOf`
 * changes nothing and every request shares one hidden class. Everything else is Nest's adapter.
 */
export class SharedShapeExpressAdapter extends ExpressAdapter {
  /** Every open connection, with the response it is serving (undefined between requests). */
  private readonly connections = new Map<Socket, http.ServerResponse | undefined>();
  private closing = false;

  override initHttpServer(options: NestApplicationOptions): void {
    if (options?.httpsOptions) {
      super.initHttpServer(options); // HTTPS keeps Node's classes: not used by this service
      return;
    }
    const app = this.getInstance<http.RequestListener & { request: object; response: object }>();
    const IncomingMessage = adopt(http.IncomingMessage, app.request);
    const ServerResponse = adopt(http.ServerResponse, app.response);
    app.request = IncomingMessage.prototype;
    app.response = ServerResponse.prototype;
    super.initHttpServer(options);
    const plain = this.getHttpServer() as http.Server;
    plain.removeAllListeners('request'); // never listened: replaced by the server below
    const server = http.createServer(
      { IncomingMessage, ServerResponse, connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS },
      app,
    );
    server.on('connection', (socket: Socket) => {
      this.connections.set(socket, undefined);
      socket.once('close', () => this.connections.delete(socket));
    });
    server.on('request', (request: http.IncomingMessage, response: http.ServerResponse) => {
      this.connections.set(request.socket, response);
      response.once('finish', () => {
        if (this.connections.get(request.socket) === response) {
          this.connections.set(request.socket, undefined);
        }
        if (this.closing) {
          request.socket.destroy();
        }
      });
    });
    this.setHttpServer(server);
  }

  /**
   * Stops the server without waiting for clients that will not finish: connections between requests,
   * and requests whose headers or body have not all arrived (a client that stalls half-way would
   * otherwise hold the shutdown until its timeout), are closed at once. Requests that have arrived
   * whole get their answer, and then their connection is closed. (Streams are ended before this.)
   */
  override close(): Promise<unknown> | undefined {
    this.closing = true;
    for (const [socket, response] of this.connections) {
      if (response === undefined || !response.req.complete || response.writableFinished) {
        socket.destroy();
      }
    }
    return super.close();
  }
}

/**
 * A subclass of `Base` whose prototype takes the place of `current` (Express's per-app prototype):
 * it inherits from what `current` inherits from and has `current`'s own properties (`app`).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a mixin's base must take any[]
function adopt<T extends new (...args: any[]) => object>(Base: T, current: object): T {
  const Adopted = class extends Base {};
  Object.defineProperty(Adopted, 'name', { value: Base.name }); // as Node's, in heap snapshots too
  Object.setPrototypeOf(Adopted.prototype, Object.getPrototypeOf(current) as object);
  for (const key of Reflect.ownKeys(current)) {
    Object.defineProperty(Adopted.prototype, key, Object.getOwnPropertyDescriptor(current, key)!);
  }
  return Adopted;
}
