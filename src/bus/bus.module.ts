import { Global, Module } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { MetricsRegistry } from '../metrics/metrics.registry';
import { MESSAGE_BUS } from './bus.constants';
import { InMemoryMessageBus } from './in-memory-message-bus';
import { MessageBus } from './message-bus.interface';
import { MeteredMessageBus } from './metered-message-bus';

/** Provides the MessageBus chosen by MESSAGE_BUS (validated config; `memory` is the default), metered. */
@Global()
@Module({
  providers: [
    {
      provide: MESSAGE_BUS,
      inject: [APP_CONFIG, MetricsRegistry],
      useFactory: (config: AppConfig, registry: MetricsRegistry): MessageBus => {
        const create = (): MessageBus => {
          switch (config.MESSAGE_BUS) {
            case 'memory':
              return new InMemoryMessageBus(config.BUS_HISTORY_SIZE, config.BUS_HISTORY_BYTES);
          }
        };
        return new MeteredMessageBus(create(), registry);
      },
    },
  ],
  exports: [MESSAGE_BUS],
})
export class BusModule {}
