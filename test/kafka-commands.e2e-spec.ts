import { Registry } from 'prom-client';
import { BusRecord } from '../src/bus/message-bus.interface';
import { KafkaMessageBus } from '../src/bus/kafka/kafka-message-bus';
import { waitUntil } from './support/app';
import { sharedBrokers } from './support/kafka';
import { kcatProduce } from './support/kcat';

jest.setTimeout(60_000);

describe('Kafka command topics: one consumer group shared by every instance', () => {
  const instances: KafkaMessageBus[] = [];

  afterAll(async () => {
    await Promise.all(instances.map((bus) => bus.close()));
  });

  it('hands each command to exactly one instance', async () => {
    const suffix = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
    const topic = `commands-${suffix}`;
    const handled = new Map<string, number>();
    const byInstance = [0, 0];
    for (const index of [0, 1]) {
      const bus = new KafkaMessageBus(
        {
          brokers: [sharedBrokers()],
          clientId: `commands-test-${suffix}`,
          publishTimeoutMs: 5_000,
          partitions: 2,
          replicationFactor: 1,
          historySize: 100,
          historyBytes: 100_000,
        },
        new Registry(),
      );
      bus.handleCommands(topic, 'workers', (record: BusRecord) => {
        handled.set(record.value, (handled.get(record.value) ?? 0) + 1);
        byInstance[index]++;
        return Promise.resolve();
      });
      instances.push(bus);
    }
    instances.forEach((bus) => bus.start());
    await waitUntil(() => instances.every((bus) => bus.health().up), 'both instances joined', 30_000);

    const commands = Array.from({ length: 40 }, (_, n) => `{"id":"r${n}","status":"queued"}`);
    await kcatProduce(sharedBrokers(), topic, commands);
    await waitUntil(() => handled.size === commands.length, 'every command was handled', 20_000);
    await new Promise((resolve) => setTimeout(resolve, 1_000)); // room for a second delivery

    expect([...handled.keys()].sort()).toEqual([...commands].sort());
    expect([...handled.values()].every((times) => times === 1)).toBe(true);
    expect(byInstance[0] + byInstance[1]).toBe(commands.length);
  });
});
