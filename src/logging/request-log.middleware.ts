import { Injectable, NestMiddleware } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { requestIdOf } from './request-id';

const REQUEST_LINE = Symbol('request line');
type LoggedRequest = IncomingMessage & { id?: unknown; [REQUEST_LINE]?: true };

/**
 * Whether RequestLogMiddleware writes the request's line. Streams have none (they get `stream
 * closed`), nor requests refused before it ran: the exception filter writes the line of a refusal.
 */
export function hasRequestLine(request: IncomingMessage): boolean {
  return (request as LoggedRequest)[REQUEST_LINE] === true;
}

/**
 * Gives every request (streams excepted, see LoggingModule) its id, and writes one line when it ends:
 * `request completed`, or `request aborted` when the client left before sending its whole request or
 * receiving the answer. The lines are pino-http's, with the same `req` and `res` serializers. pino-http made
 * a child logger for every request (serializing the request, rebinding every level method), and nestjs-pino
 * ran the rest of the request inside AsyncLocalStorage, which hooks every promise: together 11% of the
 * service's CPU at 2,000 status changes/s, even when nothing was logged. Here a request costs its id, plus
 * one listener when the line will be written.
 */
@Injectable()
export class RequestLogMiddleware implements NestMiddleware {
  constructor(private readonly pino: PinoLogger) {}

  use(request: LoggedRequest, response: ServerResponse, next: () => void): void {
    requestIdOf(request, response);
    request[REQUEST_LINE] = true;
    const logger = this.pino.logger;
    if (logger.isLevelEnabled('info')) {
      const start = performance.now();
      response.once('close', () => {
        logger.info(
          {
            req: request,
            res: response,
            responseTime: Math.round(performance.now() - start),
          },
          request.complete && response.writableFinished ? 'request completed' : 'request aborted',
        );
      });
    }
    next();
  }
}
