import { Global, Module } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { KafkaMessageBus } from './kafka/kafka-message-bus';
import { MetricsRegistry } from '../metrics/metrics.registry';
import { MESSAGE_BUS } from './bus.constants';
import { InMemoryMessageBus } from './in-memory-message-bus';
import { MessageBus } from './message-bus.interface';
import { MeteredMessageBus } from './metered-message-bus';

/** Provides the MessageBus: Kafka when KAFKA_BROKERS is set, else the in-memory bus; metered. */
@Global()
@Module({
  providers: [
    {
      provide: MESSAGE_BUS,
      inject: [APP_CONFIG, MetricsRegistry],
      useFactory: (config: AppConfig, registry: MetricsRegistry): MessageBus => {
        const bus = config.KAFKA_BROKERS
          ? new KafkaMessageBus(
              {
                brokers: config.KAFKA_BROKERS.split(','),
                clientId: config.KAFKA_CLIENT_ID,
                publishTimeoutMs: config.KAFKA_PUBLISH_TIMEOUT_MS,
                partitions: config.KAFKA_TOPIC_PARTITIONS,
                replicationFactor: config.KAFKA_REPLICATION_FACTOR,
                historySize: config.BUS_HISTORY_SIZE,
                historyBytes: config.BUS_HISTORY_BYTES,
              },
              registry,
            )
          : new InMemoryMessageBus(config.BUS_HISTORY_SIZE, config.BUS_HISTORY_BYTES);
        return new MeteredMessageBus(bus, registry);
      },
    },
  ],
  exports: [MESSAGE_BUS],
})
export class BusModule {}
