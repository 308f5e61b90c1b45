import { Global, Module } from '@nestjs/common';
import { KeepAliveScheduler } from './keep-alive.scheduler';
import { SseConnectionRegistry } from './sse-connection.registry';
import { SseInterceptor } from './sse.interceptor';
import { SseMetrics } from './sse.metrics';
import { StreamFit } from './stream-fit';

/** The shared SSE layer: every `@SseRoute()` of the app is served through SseInterceptor. */
@Global()
@Module({
  providers: [SseMetrics, SseConnectionRegistry, KeepAliveScheduler, SseInterceptor, StreamFit],
  exports: [SseConnectionRegistry, KeepAliveScheduler, SseInterceptor, StreamFit],
})
export class SseModule {}
