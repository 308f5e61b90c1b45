import { Global, Module } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { MESSAGE_BUS } from './bus.constants';
import { InMemoryMessageBus } from './in-memory-message-bus';
import { MessageBus } from './message-bus.interface';

/** Provides the MessageBus chosen by MESSAGE_BUS (validated config; `memory` is the default). */
@Global()
@Module({
  providers: [
    {
      provide: MESSAGE_BUS,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig): MessageBus => {
        switch (config.MESSAGE_BUS) {
          case 'memory':
            return new InMemoryMessageBus(config.BUS_HISTORY_SIZE, config.BUS_HISTORY_BYTES);
        }
      },
    },
  ],
  exports: [MESSAGE_BUS],
})
export class BusModule {}
