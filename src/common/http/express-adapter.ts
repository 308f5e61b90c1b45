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

  override initHttpServer(options: NestApplicationOptions): void {
    super.initHttpServer(options);
    if (options?.httpsOptions) {
      return; // HTTPS is not used by this service: Nest's server as it is
    }
    // Node takes the check interval only when the server is made, so this one replaces Nest's
    // (which nothing has listened on yet).
    (this.getHttpServer() as http.Server).removeAllListeners('request');
    const server = http.createServer(
      { connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS },
      this.getInstance<http.RequestListener>(),
    );
    server.on('connection', (socket: Socket) => {
      this.connections.set(socket, undefined);
      socket.once('close', () => this.connections.delete(socket));
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
