import { MessageEvent, SSE_ABORT_CONTROLLER } from '@nestjs/common';
import { Request, Response } from 'express';
import { Subscriber } from 'rxjs';

/**
 * Everything the SSE layer takes from Nest's, Express's and Node's internals, and the one place to
 * check when upgrading them. Each item says what it is for and what happens if it changes.
 * test/sse-handoff.e2e-spec.ts fails when the hand-off stops freeing Nest's writer, the request's
 * execution context or the sent headers, or when an idle stream's heap grows past its bound; sse-framing and
 * process e2e specs cover the headers, HEAD, refusals and the end of a stream.
 *
 * Imports (not public API, except SSE_ABORT_CONTROLLER since Nest 12):
 * - `SSE_METADATA`: the key `@Sse()` sets on a handler; SseInterceptor checks that an `@SseRoute()`
 *   handler has it. Renamed: every SSE request fails with "@SseRoute() goes with @Sse()".
 * - `PATH_METADATA`: the key of `@Controller()` / `@Get()` paths; findSseRoutes reads it to keep
 *   the request log off the streams. Renamed: streams are logged like plain requests.
 * - `RouteInfo`: the shape of `MiddlewareConsumer.exclude()` routes (a type only).
 * - `SSE_ABORT_CONTROLLER`: the request property holding Nest's per-stream AbortController.
 *   Renamed or no longer aborted on completion: each stream keeps about 2.5 KB more (heap bound).
 *
 * Behaviour relied on (no import to break at build time, hence the e2e specs):
 * - Nest's `@Sse()` writer commits the headers when its first message is written, and, when its
 *   Observable completes, aborts SSE_ABORT_CONTROLLER, stops its timers and close listeners, and ends
 *   the response through a `pipe()`. handOff absorbs that end. If the writer stopped ending the
 *   response, the stream still works (handOff's end() ends it); if it kept state past completion,
 *   the e2e spec's count of live SseStream objects fails.
 * - Node's `Readable.prototype.pipe` names its listeners on the destination (PIPE_LISTENERS).
 *   Renamed: streams still work, but Nest's finished writer lives until the stream ends.
 * - Express's router leaves `next`, parsed URLs, `params` and `route` on the request
 *   (ROUTING_LEFTOVERS). New fields: each idle stream keeps them (heap bound).
 * - Express makes `res.locals` for every response; it is cleared after the hand-off. Made lazily or
 *   renamed: each idle stream keeps it (heap bound); read by Express after the head: it would throw.
 * - Node keeps the headers given with setHeader in the response's `kOutHeaders` symbol field (null
 *   when none) even after sending them; forgetSentHeaders sets it back to null once the head is out.
 *   Renamed: each idle stream keeps its 7 headers, about 0.9 KB (test/sse-handoff counts the
 *   responses that still have them). Read by Node after the head
 *   (it is not in Node 24): getHeader() would answer undefined there.
 *
 * Nest's adapter, subclassed through its public methods (src/common/http/express-adapter.ts); no
 * internal of Express, Nest or class-validator is patched any more:
 * - `initHttpServer` makes the HTTP server itself, with Node's `connectionsCheckingInterval` option
 *   (request timeouts checked every second, not every 30 s), and hands it over with `setHttpServer`.
 *   If Nest's version starts doing more than making the server (and `return503OnClosing` /
 *   `forceCloseConnections`, unused here), the override misses it; if Nest stops calling it, the
 *   timeouts are checked every 30 s: the adapter's spec and test/process fail.
 * - `close` closes idle and half-sent connections before Nest closes the server. If Nest stops
 *   calling it on app.close(), shutdown waits for keep-alive clients: test/process fails.
 */
export { SSE_METADATA, PATH_METADATA } from '@nestjs/common/constants';
export type { RouteInfo } from '@nestjs/common/interfaces';

/**
 * Lets Nest's `@Sse()` writer finish once the headers are out, so that it and the request pipeline
 * it holds (a promise, a Transform stream and its pipe, an rxjs chain, timers) are freed instead of
 * living as long as the stream. Nest ends the response when its writer completes; that one call
 * is absorbed, and the response stays open for SseConnection. Returns how to end it for real.
 */
export function handOff(request: Request, response: Response, nest: Subscriber<MessageEvent>): () => void {
  // Nest aborts the request's AbortSignal as its writer completes. The request would keep that
  // controller, its signal and the AbortError (whose stack, unread, keeps the functions of its
  // frames and so the writer's whole scope) for as long as the stream: about 2.5 KB. Nothing reads
  // the signal after the hand-off, so the request lets go of it (by assignment: see below).
  const carrier = request as Request & { [SSE_ABORT_CONTROLLER]?: AbortController };
  carrier[SSE_ABORT_CONTROLLER]?.signal.addEventListener(
    'abort',
    () => {
      carrier[SSE_ABORT_CONTROLLER] = undefined;
    },
    { once: true },
  );
  // Put back by assignment, not `delete`: deleting a property turns the response into a slow
  // dictionary-mode object, about 3 KB more per stream.
  // eslint-disable-next-line @typescript-eslint/unbound-method -- put back on the same object
  const realEnd = response.end;
  response.end = function absorbNestEnd(this: Response) {
    response.end = realEnd;
    detachPipeListeners(response);
    return this;
  } as Response['end'];
  nest.complete();
  forgetRouting(request);
  forgetSentHeaders(response);
  forgetLocals(response);
  return () => {
    response.end = realEnd; // in case Nest did not end it (a future version may not)
    response.end();
  };
}

/**
 * What Express's router left on the request for the handlers of this request: its `next` (a closure
 * over the router's dispatch state, the final handler and their scopes), the parsed URLs and route
 * params. The request is handled by now and the stream reads none of it; without this, each idle
 * stream would keep it. Cleared by assignment, so the request keeps its object shape.
 */
const ROUTING_LEFTOVERS = ['next', '_parsedUrl', '_parsedOriginalUrl', 'params', 'route'] as const;

function forgetRouting(request: Request): void {
  const fields = request as unknown as Record<string, unknown>;
  for (const field of ROUTING_LEFTOVERS) {
    if (Object.prototype.hasOwnProperty.call(fields, field)) {
      fields[field] = undefined;
    }
  }
}

/**
 * Node keeps every header given with setHeader (Nest's writer passes its own through setHeader too,
 * once any header was set before it) for getHeader(), an object in dictionary mode and one array per
 * header: about 1 KB per stream, read by nothing once the head is out. No public call drops them
 * after the head (removeHeader throws then), so the field is found by its symbol's name and emptied
 * as Node makes it, null. Renamed: nothing is emptied and each idle stream keeps its headers.
 */
function forgetSentHeaders(response: Response): void {
  if (!response.headersSent) {
    return;
  }
  const field = Object.getOwnPropertySymbols(response).find((symbol) => symbol.description === 'kOutHeaders');
  if (field !== undefined) {
    (response as unknown as Record<symbol, unknown>)[field] = null;
  }
}

/**
 * Express's `res.locals`, a null-prototype object (so a dictionary) made for every response, for the
 * views of the request's handlers: none reads it after the hand-off. Cleared by assignment.
 */
function forgetLocals(response: Response): void {
  if (Object.prototype.hasOwnProperty.call(response, 'locals')) {
    (response as { locals?: unknown }).locals = undefined;
  }
}

/**
 * The pipe from Nest's finished writer to the response would unpipe only when the response ends,
 * keeping the writer's stream alive until then. Its listeners are Node's, found by name.
 */
const PIPE_LISTENERS: Record<string, string> = {
  unpipe: 'onunpipe',
  error: 'onerror',
  close: 'onclose',
  finish: 'onfinish',
  drain: 'ondrain',
};

function detachPipeListeners(response: Response): void {
  for (const [event, name] of Object.entries(PIPE_LISTENERS)) {
    for (const listener of response.listeners(event)) {
      if ((listener as { name?: string }).name === name) {
        response.removeListener(event, listener as (...args: unknown[]) => void);
      }
    }
  }
}
