import { Kafka } from 'kafkajs';
import { Counter, Registry } from 'prom-client';
import { KafkaFanoutConsumer } from '../kafka-fanout-consumer';

/**
 * For unit specs: a fan-out part with no broker behind it (its kafkajs client is never asked for a
 * consumer), its skip counter, logger and hooks as spies. Position it with `position()` as the bus would.
 */
export function brokerlessFanout() {
  const registry = new Registry();
  const skipped = new Counter({
    name: 'skipped',
    help: 'skipped',
    labelNames: ['topic'],
    registers: [registry],
  });
  const logger = { log: jest.fn(), warn: jest.fn() };
  const hooks = { joined: jest.fn(), failed: jest.fn(), closing: () => false, reconnect: jest.fn() };
  const kafka = { consumer: jest.fn() } as unknown as Kafka;
  const fanout = new KafkaFanoutConsumer(
    kafka,
    { clientId: 'gw', historySize: 100, historyBytes: 1_000_000 },
    registry,
    skipped,
    logger,
    hooks,
  );
  return { fanout, registry, skipped, logger, hooks };
}
