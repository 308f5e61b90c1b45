import { applyDecorators, SetMetadata, UseInterceptors } from '@nestjs/common';
import { returnSseSource } from './sse-source';
import { SSE_ROUTE_OPTIONS, SseRouteOptions } from './sse.constants';
import { SseInterceptor } from './sse.interceptor';

/**
 * Serves an `@Sse()` route through the SSE layer, and says how: its name, its keep-alive comments
 * and whose stream it is. Put beside `@Sse()`; the handler returns an Observable of SseItem, which
 * reaches SseInterceptor as an SseSource (see there).
 * Only these routes pass through SseInterceptor, so other requests pay nothing for it.
 */
export const SseRoute = (options: SseRouteOptions): MethodDecorator =>
  applyDecorators(
    (_target, _key, descriptor) => returnSseSource(descriptor),
    SetMetadata(SSE_ROUTE_OPTIONS, options),
    UseInterceptors(SseInterceptor),
  );
