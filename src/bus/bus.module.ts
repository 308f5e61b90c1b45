import { Global, Module } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { KafkaMessageBus } from './kafka/kafka-message-bus';
import { MetricsRegistry } from '../metrics/metrics.registry';
import { MESSAGE_BUS } from './bus.constants';
import { InMemoryMessageBus } from './in-memory-message-bus';
import { MessageBus } from './message-bus.interface';
import { BusClient } from './transport/bus-client';
import { BusTransportStrategy } from './transport/bus-transport.strategy';

/**
 * Provides the MessageBus (Kafka when KAFKA_BROKERS is set, else the in-memory bus; both metered, see MeteredMessageBus), and
 * Nest's two microservice sides over it: the transport that feeds `@EventPattern` handlers
 * (connected in app.factory.ts) and the client that produces.
 */
@Global()
@Module({
  providers: [
    {
      provide: MESSAGE_BUS,
      inject: [APP_CONFIG, MetricsRegistry],
      useFactory: (config: AppConfig, registry: MetricsRegistry): MessageBus => {
        return config.KAFKA_BROKERS
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
          : new InMemoryMessageBus(config.BUS_HISTORY_SIZE, config.BUS_HISTORY_BYTES, registry);
      },
    },
    {
      provide: BusTransportStrategy,
      inject: [MESSAGE_BUS, MetricsRegistry],
      useFactory: (bus: MessageBus, registry: MetricsRegistry) => new BusTransportStrategy(bus, registry),
    },
    { provide: BusClient, inject: [MESSAGE_BUS], useFactory: (bus: MessageBus) => new BusClient(bus) },
  ],
  exports: [MESSAGE_BUS, BusTransportStrategy, BusClient],
})
export class BusModule {}
