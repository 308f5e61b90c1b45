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
  /** Read by its streams (InterceptedStream). */
  readonly logger = new Logger(SseInterceptor.name);

  constructor(
    private readonly reflector: Reflector,
    readonly registry: SseConnectionRegistry,
    readonly keepAlive: KeepAliveScheduler,
    @Inject(APP_CONFIG) readonly config: AppConfig,
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
      const stream = new InterceptedStream(this, route, request, response, subscriber);
      return stream.admit() ? stream.run(handler) : undefined;
    });
  }
}

/**
 * One stream of SseInterceptor, from its admission to its end. Its state and steps are fields and
 * methods of this one object rather than closures of serve(): the stream keeps them as long as it
 * lasts, and a closure each (with the scopes it captures) would cost several times as much.
 */
class InterceptedStream {
  private connection!: SseConnection;
  /** Nest's subscriber: emptied at the hand-off, since this object would otherwise keep Nest's writer alive. */
  private nest?: Subscriber<MessageEvent>;
  /** How the response ends after the hand-off; before it, through Nest's writer. */
  private endResponse?: () => void;
  private headersOut = false;
  /** Answered with an error status by the exception filter, which writes its line instead of `stream closed`. */
  private refused = false;
  private handedOff = false;
  private stopKeepAlive?: () => void;
  private timeLimit?: NodeJS.Timeout;
  private tokenLimit?: () => void;
  /** Nest's chain of the handler's result, and the handler's own events (SseSource) subscribed directly. */
  private events?: Subscription;
  private source?: Subscription;
  private startTimer?: NodeJS.Timeout;

  constructor(
    private readonly owner: SseInterceptor,
    private readonly route: SseRouteOptions,
    private readonly request: Request,
    private readonly response: Response,
    subscriber: Subscriber<MessageEvent>,
  ) {
    this.nest = subscriber;
  }

  /** Counts the stream against the caps, or refuses it with the error that says why (false). */
  admit(): boolean {
    const { route, request, response } = this;
    try {
      // A user name that fails validation is refused by the pipes right after this; counting
      // it for that moment is harmless, and it is released with the refusal.
      this.connection = this.owner.registry.open(
        response,
        route.stream,
        requestIdOf(request, response),
        usersOf(route, request),
        this.end,
        {
          eventCopies: route.eventCopies?.(request),
          replayUser: (request as AuthenticatedRequest).auth?.subject,
        },
      );
      return true;
    } catch (error) {
      this.nest?.error(error);
      this.nest = undefined;
      return false;
    }
  }

  /** Subscribes to the handler's events and schedules the start; returns the teardown for Nest. */
  run(handler: { next?: CallHandler }): () => void {
    // The handler's events, subscribed here directly when they come as an SseSource (every
    // @SseRoute handler's do), so that Nest's chain, done once it has handed them over, is freed.
    const next = handler.next;
    handler.next = undefined;
    this.events = next?.handle().subscribe({
      next: (value) => {
        if (value instanceof SseSource && this.source === undefined) {
          this.source = value.events.subscribe(this);
          return;
        }
        this.next(value);
      },
      error: (error: unknown) => this.error(error),
      complete: () => {
        if (this.source === undefined) {
          this.complete();
        }
      },
    });
    // Pipes and the handler settle within microtasks, which run before this timer: a refusal
    // has been answered by then. Otherwise one comment, emitted through Nest's own writer,
    // makes it commit the headers now; the frames that follow bypass it.
    this.startTimer = setTimeout(() => this.start(), 0);
    return () => {
      // Before the hand-off Nest owns the request's end; after it, the response's close does.
      if (!this.handedOff) {
        this.release();
      }
    };
  }

  next(event: unknown): void {
    if (event instanceof SseEvent || event instanceof SseReplay) {
      this.connection.send(event);
      return;
    }
    const mistake = new TypeError(
      `SSE handlers of ${this.route.stream} must emit SseEvent or SseReplay, got ${typeof event}`,
    );
    if (!this.headersOut) {
      this.refuse(mistake); // a 500 from the exception filter
      return;
    }
    this.owner.logger.error(mistake.message);
    this.stop('stream failed, reconnect');
  }

  error(error: unknown): void {
    if (error instanceof SlowReaderError && this.headersOut) {
      this.connection.dropSlowReader(error.message); // its socket's close releases the rest
      return;
    }
    if (!this.headersOut) {
      this.refuse(error); // a 4xx/5xx from the exception filters, no stream yet
      return;
    }
    this.owner.logger.error(
      `Stream ${this.route.stream} failed`,
      error instanceof Error ? error.stack : String(error),
    );
    this.stop('stream failed, reconnect');
  }

  complete(): void {
    this.stop('stream ended');
  }

  /** Ends the stream: through Nest's writer until the hand-off, on the response itself after it. */
  private readonly end = (): void => {
    if (this.endResponse) {
      this.endResponse();
    } else {
      this.nest?.complete();
    }
  };

  /** Ends a stream that started: a last comment and retry hint, then the response's end. */
  private stop(reason: string): void {
    this.connection.finish(reason);
    this.end();
  }

  private refuse(error: unknown): void {
    this.refused = true;
    this.nest?.error(error);
  }

  private readonly release = (): void => {
    clearTimeout(this.startTimer);
    clearTimeout(this.timeLimit);
    this.tokenLimit?.();
    this.events?.unsubscribe();
    this.source?.unsubscribe();
    this.stopKeepAlive?.();
    this.owner.registry.close(this.connection, this.refused);
  };

  private start(): void {
    this.startTimer = undefined; // fired: the stream need not keep the Timeout
    const { connection, route, request, response } = this;
    if (!connection.isOpen) {
      return;
    }
    this.nest?.next({ comment: 'stream open' });
    if (!response.headersSent) {
      this.refuse(new Error('Nest did not commit the SSE response headers; the SSE layer cannot start'));
      return;
    }
    this.headersOut = true;
    if (request.method === 'HEAD') {
      this.nest?.complete(); // headers only: a HEAD response has no body
      return;
    }
    connection.start();
    const { keepAlive, config } = this.owner;
    this.stopKeepAlive = keepAlive.register(
      connection,
      config[route.keepAlive.intervalSetting],
      route.keepAlive.comment,
    );
    const maxDuration = maxDurationOf(route, request, config);
    if (maxDuration !== undefined) {
      this.timeLimit = setTimeout(() => this.stop('connection time limit reached, reconnect'), maxDuration);
    }
    // A stream lasts as long as its token (AUTH_MODE=jwt): then the client reconnects with a new one.
    const expiresAt = (request as AuthenticatedRequest).auth?.expiresAt;
    if (expiresAt !== undefined) {
      this.tokenLimit = onTokenExpiry(expiresAt, () =>
        this.stop('token expired, reconnect with a new token'),
      );
    }
    this.handedOff = true;
    const nest = this.nest;
    this.nest = undefined;
    if (nest) {
      this.endResponse = handOff(request, response, nest);
    }
    // `on`, not `once`: a response closes once, and once() would wrap the listener in a closure of its own.
    response.on('close', this.release);
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
