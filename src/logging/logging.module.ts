import { MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { DiscoveryModule, DiscoveryService } from '@nestjs/core';
import { LoggerModule } from 'nestjs-pino';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { findSseRoutes } from '../sse/sse-routes';
import { stdoutLogDestination } from './log-destination';
import { redactAccessToken } from './redact';
import { RequestLogMiddleware } from './request-log.middleware';

/**
 * JSON logs (pino, through nestjs-pino as Nest's logger), one line per request with its id. Requests are
 * logged by RequestLogMiddleware rather than nestjs-pino's pino-http middleware, which is applied to no
 * route (see the middleware for the cost it had). Streams are left out: the SSE layer gives them their id
 * and writes one line per stream when it closes, and the exception filter one per stream it refused.
 */
@Module({
  imports: [
    DiscoveryModule,
    LoggerModule.forRootAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => ({
        forRoutes: [],
        pinoHttp: [
          {
            level: config.LOG_LEVEL,
            serializers: {
              req: (request: { id: string; method?: string; url?: string }) => ({
                id: request.id,
                method: request.method,
                // Lines about a stream carry only its id; request lines have the URL, with tokens hidden.
                url: request.url === undefined ? undefined : redactAccessToken(request.url),
              }),
              res: (response: { statusCode: number }) => ({ statusCode: response.statusCode }),
            },
          },
          // Not pino's default destination: see LogDestination (a closed stdout must not hold the exit).
          stdoutLogDestination(),
        ],
      }),
    }),
  ],
})
export class LoggingModule implements NestModule {
  constructor(private readonly discovery: DiscoveryService) {}

  configure(consumer: MiddlewareConsumer): void {
    consumer
      .apply(RequestLogMiddleware)
      .exclude(...findSseRoutes(this.discovery))
      .forRoutes('{*path}');
  }
}
