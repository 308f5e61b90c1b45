import {
  CallHandler,
  ExecutionContext,
  Inject,
  Injectable,
  Logger,
  MessageEvent,
  NestInterceptor,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { Request, Response } from 'express';
import { Observable, Subscriber, Subscription } from 'rxjs';
import { AuthenticatedRequest } from '../auth/access.guard';
import { onTokenExpiry } from '../auth/token-expiry';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { KeepAliveScheduler } from './keep-alive.scheduler';
import { handOff, SSE_METADATA } from './framework-internals';
import { SseConnection } from './sse-connection';
import { SseConnectionRegistry } from './sse-connection.registry';
import { SseEvent } from './sse-event';
import { SseReplay } from './sse-replay';
import { SseSource } from './sse-source';
import { SlowReaderError } from './sse.errors';
import { requestIdOf } from '../logging/request-id';
import { SSE_ROUTE_OPTIONS, SseRouteOptions, StreamUser } from './sse.constants';

/**
 * Extends Nest's `@Sse()` with what its own writer lacks: connection caps answered with a status
 * (503 / 429) before any byte of the stream, a `retry:` hint, keep-alive comments, a bounded
 * buffer per connection, frames encoded once per event and coalesced into one write per turn,
 * and an orderly end on shutdown.
 *
 * Nest still routes the request, runs guards and pipes (so a bad query is a 400 before the stream
 * starts) and commits the response headers; from then on frames are written by SseConnection.
 */
@Injectable()
export class SseInterceptor implements NestInterceptor {
  private readonly logger = new Logger(SseInterceptor.name);

  constructor(
    private readonly reflector: Reflector,
    private readonly registry: SseConnectionRegistry,
    private readonly keepAlive: KeepAliveScheduler,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const handler = context.getHandler();
    const route = this.reflector.get<SseRouteOptions | undefined>(SSE_ROUTE_OPTIONS, handler);
    if (!route || !this.reflector.get<boolean | undefined>(SSE_METADATA, handler)) {
      throw new Error(`${context.getClass().name}.${handler.name}: @SseRoute() goes with @Sse()`);
    }
    const request = context.switchToHttp().getRequest<Request>();
    const response = context.switchToHttp().getResponse<Response>();
    // In a box that is emptied once used: the closures of the stream would otherwise keep Nest's
    // CallHandler, and through it the ExecutionContext and its arguments, for the stream's life.
    return this.serve(route, request, response, { next });
  }

  private serve(
    route: SseRouteOptions,
    request: Request,
    response: Response,
    handler: { next?: CallHandler },
  ) {
    return new Observable<MessageEvent>((subscriber) => {
      // Nest's subscriber, reached only through this box: it is emptied at the hand-off, since the
      // closures below live as long as the stream and would otherwise keep Nest's writer alive.
      const sink: { nest?: Subscriber<MessageEvent> } = { nest: subscriber };
      // Ends the stream: through Nest's writer until the hand-off, on the response itself after it.
      let end = () => sink.nest?.complete();
      let connection: SseConnection;
      try {
        // A user name that fails validation is refused by the pipes right after this; counting
        // it for that moment is harmless, and it is released with the refusal.
        connection = this.registry.open(
          response,
          route.stream,
          requestIdOf(request, response),
          usersOf(route, request),
          () => end(),
          {
            eventCopies: route.eventCopies?.(request),
            replayUser: (request as AuthenticatedRequest).auth?.subject,
          },
        );
      } catch (error) {
        subscriber.error(error);
        return;
      }
      /** Ends a stream that started: a last comment and retry hint, then the response's end. */
      const stop = (reason: string) => {
        connection.finish(reason);
        end();
      };
      let headersOut = false;
      // Answered with an error status by the exception filter, which writes its line instead of `stream closed`.
      let refused = false;
      const refuse = (error: unknown) => {
        refused = true;
        sink.nest?.error(error);
      };
      let handedOff = false;
      let stopKeepAlive: (() => void) | undefined;
      let timeLimit: NodeJS.Timeout | undefined;
      let tokenLimit: (() => void) | undefined;
      const observer = {
        next: (event: unknown) => {
          if (event instanceof SseEvent || event instanceof SseReplay) {
            connection.send(event);
            return;
          }
          const mistake = new TypeError(
            `SSE handlers of ${route.stream} must emit SseEvent or SseReplay, got ${typeof event}`,
          );
          if (!headersOut) {
            refuse(mistake); // a 500 from the exception filter
            return;
          }
          this.logger.error(mistake.message);
          stop('stream failed, reconnect');
        },
        error: (error: unknown) => {
          if (error instanceof SlowReaderError && headersOut) {
            connection.dropSlowReader(error.message); // its socket's close releases the rest
            return;
          }
          if (!headersOut) {
            refuse(error); // a 4xx/5xx from the exception filters, no stream yet
            return;
          }
          this.logger.error(
            `Stream ${route.stream} failed`,
            error instanceof Error ? error.stack : String(error),
          );
          stop('stream failed, reconnect');
        },
        complete: () => {
          stop('stream ended');
        },
      };
      // The handler's events, subscribed here directly when they come as an SseSource (every
      // @SseRoute handler's do), so that Nest's chain, done once it has handed them over, is freed.
      let source: Subscription | undefined;
      const next = handler.next;
      handler.next = undefined;
      const events = next?.handle().subscribe({
        next: (value) => {
          if (value instanceof SseSource && source === undefined) {
            source = value.events.subscribe(observer);
            return;
          }
          observer.next(value);
        },
        error: observer.error,
        complete: () => {
          if (source === undefined) {
            observer.complete();
          }
        },
      });
      const release = () => {
        clearTimeout(start);
        clearTimeout(timeLimit);
        tokenLimit?.();
        events?.unsubscribe();
        source?.unsubscribe();
        stopKeepAlive?.();
        this.registry.close(connection, refused);
      };
      // Pipes and the handler settle within microtasks, which run before this timer: a refusal
      // has been answered by then. Otherwise one comment, emitted through Nest's own writer,
      // makes it commit the headers now; the frames that follow bypass it.
      let start: NodeJS.Timeout | undefined = setTimeout(() => {
        start = undefined; // fired: the stream's closures need not keep the Timeout
        if (!connection.isOpen) {
          return;
        }
        sink.nest?.next({ comment: 'stream open' });
        if (!response.headersSent) {
          refuse(new Error('Nest did not commit the SSE response headers; the SSE layer cannot start'));
          return;
        }
        headersOut = true;
        if (request.method === 'HEAD') {
          sink.nest?.complete(); // headers only: a HEAD response has no body
          return;
        }
        connection.start();
        stopKeepAlive = this.keepAlive.register(
          connection,
          this.config[route.keepAlive.intervalSetting],
          route.keepAlive.comment,
        );
        const maxDuration = maxDurationOf(route, request, this.config);
        if (maxDuration !== undefined) {
          timeLimit = setTimeout(() => stop('connection time limit reached, reconnect'), maxDuration);
        }
        // A stream lasts as long as its token (AUTH_MODE=jwt): then the client reconnects with a new one.
        const expiresAt = (request as AuthenticatedRequest).auth?.expiresAt;
        if (expiresAt !== undefined) {
          tokenLimit = onTokenExpiry(expiresAt, () => stop('token expired, reconnect with a new token'));
        }
        handedOff = true;
        const nest = sink.nest;
        sink.nest = undefined;
        if (nest) {
          end = handOff(request, response, nest);
        }
        response.once('close', release);
      }, 0);
      return () => {
        // Before the hand-off Nest owns the request's end; after it, the response's close does.
        if (!handedOff) {
          release();
        }
      };
    });
  }
}

/** How long the connection may last, in ms (the shortest of its route's settings); unbounded: undefined. */
function maxDurationOf(route: SseRouteOptions, request: Request, config: AppConfig): number | undefined {
  const setting = route.maxDurationSetting;
  const settings = typeof setting === 'function' ? setting(request) : setting === undefined ? [] : [setting];
  return settings.length === 0 ? undefined : Math.min(...settings.map((name) => config[name]));
}

/** The user streams a request opens, for the per-user cap: the route's own, or those it names. */
function usersOf(route: SseRouteOptions, request: Request): readonly StreamUser[] {
  if (route.users) {
    return route.users(request);
  }
  const user = route.userQuery === undefined ? undefined : request.query[route.userQuery];
  if (typeof user !== 'string') {
    return [];
  }
  return [{ stream: route.stream, user: route.userIgnoresCase ? user.toLowerCase() : user }];
}
