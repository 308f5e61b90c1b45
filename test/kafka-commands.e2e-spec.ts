import { INestMicroservice, Injectable, Logger } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { Registry } from 'prom-client';
import { BusRecord, RecordHeaders } from '../src/bus/message-bus.interface';
import { KafkaMessageBus } from '../src/bus/kafka/kafka-message-bus';
import { BusContext } from '../src/bus/transport/bus-context';
import { BusHandlers } from '../src/bus/transport/bus-handlers.decorator';
import { BusTransportStrategy } from '../src/bus/transport/bus-transport.strategy';
import { waitUntil } from './support/app';
import { sharedBrokers } from './support/kafka';
import { kcatConsume, kcatProduce } from './support/kcat';

jest.setTimeout(60_000);

// The buses here are made without an app, whose LOG_LEVEL would silence them.
beforeAll(() => {
  Logger.overrideLogger(false);
});

/** One instance's Kafka bus on the shared broker; instances with the same client id share command groups. */
const kafkaBus = (clientId: string) =>
  new KafkaMessageBus(
    {
      brokers: [sharedBrokers()],
      clientId,
      publishTimeoutMs: 5_000,
      partitions: 2,
      replicationFactor: 1,
      historySize: 100,
      historyBytes: 100_000,
    },
    new Registry(),
  );

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
      const bus = kafkaBus(`commands-test-${suffix}`);
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

const suffix = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
const NEWS = `news-${suffix}`;
const ORDERS = `orders-${suffix}`;

interface Seen {
  value: string;
  key: string | null;
  partition?: number;
  offset?: number;
  headers: RecordHeaders;
}

/** What one instance's handlers got. */
@Injectable()
class Received {
  readonly news: Seen[] = [];
  readonly orders: Seen[] = [];
}

const seen = (value: string, context: BusContext): Seen => ({
  value,
  key: context.getKey(),
  partition: context.getPartition(),
  offset: context.getOffset(),
  headers: context.getHeaders(),
});

@BusHandlers()
class Handlers {
  constructor(private readonly received: Received) {}

  @EventPattern<string>(NEWS)
  news(@Payload() value: string, @Ctx() context: BusContext): void {
    this.received.news.push(seen(value, context));
  }

  @EventPattern<string>(ORDERS, { group: 'workers' })
  order(@Payload() value: string, @Ctx() context: BusContext): Promise<void> {
    this.received.orders.push(seen(value, context));
    return Promise.resolve();
  }
}

describe('@EventPattern handlers on the bus transport, two instances on the real broker', () => {
  const instances: { bus: KafkaMessageBus; microservice: INestMicroservice; received: Received }[] = [];

  beforeAll(async () => {
    for (let n = 0; n < 2; n++) {
      const bus = kafkaBus(`transport-test-${suffix}`);
      bus.declareTopic(NEWS);
      const module = await Test.createTestingModule({
        controllers: [Handlers],
        providers: [Received],
      }).compile();
      const microservice = module.createNestMicroservice({
        strategy: new BusTransportStrategy(bus, new Registry()),
        logger: false,
      });
      await microservice.listen(); // as in app.factory.ts: before the bus starts
      bus.start();
      instances.push({ bus, microservice, received: module.get(Received) });
    }
    await waitUntil(() => instances.every(({ bus }) => bus.health().up), 'both instances joined', 30_000);
  });

  afterAll(async () => {
    for (const { bus, microservice } of instances) {
      await microservice.close();
      await bus.close();
    }
  });

  it('hands every fan-out record, from any producer, to the handler of every instance, once, with key, headers, partition and offset', async () => {
    const values = Array.from({ length: 5 }, (_, n) => `news ${n}`);
    await kcatProduce(sharedBrokers(), NEWS, values, { key: 'u1', headers: { trace: 't-1' } });
    await waitUntil(
      () => instances.every(({ received }) => received.news.length >= values.length),
      'both instances got every record',
      20_000,
    );
    await new Promise((resolve) => setTimeout(resolve, 1_000)); // room for a second delivery
    const written = await kcatConsume(sharedBrokers(), NEWS, { count: values.length });
    const expected = written.map((record) => ({
      value: record.value!.toString(),
      key: 'u1',
      partition: record.partition,
      offset: record.offset,
      headers: { trace: 't-1' },
    }));
    expect(expected.map((record) => record.value)).toEqual(values);
    for (const { received } of instances) {
      expect(received.news).toEqual(expected);
    }
  });

  it('hands each command of a group to one instance only, with its context', async () => {
    const commands = Array.from({ length: 30 }, (_, n) => `{"order":${n}}`);
    await kcatProduce(sharedBrokers(), ORDERS, commands, { headers: { origin: 'kcat' } });
    const all = () => instances.flatMap(({ received }) => received.orders);
    await waitUntil(() => all().length >= commands.length, 'every command was handled', 20_000);
    await new Promise((resolve) => setTimeout(resolve, 1_000)); // room for a second delivery
    expect(
      all()
        .map((order) => order.value)
        .sort(),
    ).toEqual([...commands].sort());
    expect(new Set(all().map((order) => `${order.partition}@${order.offset}`)).size).toBe(commands.length);
    expect(all().every((order) => order.headers.origin === 'kcat' && order.key === null)).toBe(true);
  });
});
