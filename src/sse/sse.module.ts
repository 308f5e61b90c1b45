import { Global, Module } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { KeepAliveScheduler } from './keep-alive.scheduler';
import { SseConnectionRegistry } from './sse-connection.registry';
import { SseInterceptor } from './sse.interceptor';
import { SseMetrics } from './sse.metrics';

/** The shared SSE layer: every `@Sse()` route of the app is served through SseInterceptor. */
@Global()
@Module({
  providers: [
    SseMetrics,
    SseConnectionRegistry,
    KeepAliveScheduler,
    { provide: APP_INTERCEPTOR, useClass: SseInterceptor },
  ],
  exports: [SseConnectionRegistry, KeepAliveScheduler],
})
export class SseModule {}
