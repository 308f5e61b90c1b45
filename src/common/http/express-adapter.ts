import { NestApplicationOptions } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
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
