import { DynamicModule, Module } from '@nestjs/common';
import { AuthModule } from './auth/auth.module';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { BroadcasterModule } from './broadcaster/broadcaster.module';
import { BusModule } from './bus/bus.module';
import { AllExceptionsFilter } from './common/http/all-exceptions.filter';
import { HttpBodyModule } from './common/http/http-body.module';
import { createValidationPipe } from './common/validation/validation-pipe';
import { ConfigModule } from './config/config.module';
import { EventsModule } from './events/events.module';
import { HealthModule } from './health/health.module';
import { HeartbeatModule } from './heartbeat/heartbeat.module';
import { KafkaModule } from './kafka/kafka.module';
import { LoggingModule } from './logging/logging.module';
import { MetricsModule } from './metrics/metrics.module';
import { MultiplexModule } from './multiplex/multiplex.module';
import { PublishModule } from './publish/publish.module';
import { ReportsModule } from './reports/reports.module';
import { SseModule } from './sse/sse.module';
import { TemperatureModule } from './temperature/temperature.module';

@Module({})
export class AppModule {
  /** The whole application; `env` overrides process.env (tests start apps with their own). */
  static forRoot(env: Record<string, string | undefined> = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(env),
        LoggingModule,
        AuthModule,
        HttpBodyModule,
        MetricsModule,
        BusModule,
        SseModule,
        HealthModule,
        HeartbeatModule,
        EventsModule,
        BroadcasterModule,
        TemperatureModule,
        ReportsModule,
        KafkaModule,
        MultiplexModule,
        PublishModule,
      ],
      providers: [
        {
          provide: APP_PIPE,
          useValue: createValidationPipe(),
        },
        { provide: APP_FILTER, useClass: AllExceptionsFilter },
      ],
    };
  }
}
