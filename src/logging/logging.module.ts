import { Module } from '@nestjs/common';
import { redactAccessToken } from './redact';
import { DiscoveryModule, DiscoveryService } from '@nestjs/core';
import { LoggerModule } from 'nestjs-pino';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { findSseRoutes } from '../sse/sse-routes';
import { assignRequestId } from './request-id';

/**
 * JSON logs (pino), one line per request with its id, also on every log line made during it.
 * Streams are left out: pino-http would keep a logger and listeners for each open stream (about
 * 4 KB), and the SSE layer writes one line per stream when it closes instead.
 */
@Module({
  imports: [
    LoggerModule.forRootAsync({
      imports: [DiscoveryModule],
      inject: [APP_CONFIG, DiscoveryService],
      useFactory: (config: AppConfig, discovery: DiscoveryService) => ({
        exclude: findSseRoutes(discovery),
        pinoHttp: {
          level: config.LOG_LEVEL,
          genReqId: assignRequestId,
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
      }),
    }),
  ],
})
export class LoggingModule {}
