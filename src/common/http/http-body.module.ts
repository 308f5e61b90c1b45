import { Inject, MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { bodyParser } from './body-parsers';

/**
 * Parses request bodies as Nest middleware, after the request logger, so that a body refused here
 * (413, malformed JSON) is answered by the exception filter with the request id like any error.
 */
@Module({})
export class HttpBodyModule implements NestModule {
  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  configure(consumer: MiddlewareConsumer): void {
    consumer
      .apply(bodyParser(this.config.BODY_LIMIT_BYTES, this.config.BODY_JSON_MAX_DEPTH))
      .forRoutes('{*path}');
  }
}
