import { INestMicroservice, Injectable, Logger } from '@nestjs/common';
import { Ctx, EventPattern, MessagePattern, Payload } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { Registry } from 'prom-client';
import { Observable, throwError } from 'rxjs';
import { InMemoryMessageBus } from '../in-memory-message-bus';
import { BusRecord } from '../message-bus.interface';
import { BusContext } from './bus-context';
import { BusHandlers } from './bus-handlers.decorator';
import { BusTransportStrategy } from './bus-transport.strategy';

/** What the handlers below saw, and how they should behave. */
@Injectable()
class Seen {
  readonly fanOut: { value: string; key: string | null; position: string; partition?: number }[] = [];
  readonly commands: string[] = [];
  failCommand?: Error;
  failFanOut?: Error;
  failAsObservable = false;
}

@BusHandlers()
class Handlers {
  constructor(private readonly seen: Seen) {}

  @EventPattern<string>('news')
  news(@Payload() value: string, @Ctx() context: BusContext): Observable<never> | void {
    if (value === 'bad' && this.seen.failFanOut) {
      throw this.seen.failFanOut;
    }
    if (value === 'bad' && this.seen.failAsObservable) {
      return throwError(() => new Error('stream failed'));
    }
    this.seen.fanOut.push({
      value,
      key: context.getKey(),
      position: context.getPosition(),
      partition: context.getPartition(),
    });
  }

  @EventPattern<string>('orders', { group: 'workers' })
  async order(@Payload() value: string): Promise<void> {
    await Promise.resolve();
    if (this.seen.failCommand) {
      throw this.seen.failCommand;
    }
    this.seen.commands.push(value);
  }
}

@BusHandlers()
class Replier {
  @MessagePattern('questions')
  answer(): string {
    return 'no';
  }
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe(BusTransportStrategy.name, () => {
  let bus: InMemoryMessageBus;
  let registry: Registry;
  let microservice: INestMicroservice | undefined;

  beforeEach(() => {
    bus = new InMemoryMessageBus(100, 100_000);
    bus.declareTopic('news');
    registry = new Registry();
  });

  afterEach(async () => {
    await microservice?.close();
    microservice = undefined;
    jest.restoreAllMocks();
  });

  /** A Nest microservice on the transport, with the given handler classes; the bus started after it. */
  const start = async (controllers: (typeof Handlers | typeof Replier)[] = [Handlers]) => {
    const module = await Test.createTestingModule({ controllers, providers: [Seen] }).compile();
    const sut = new BusTransportStrategy(bus, registry);
    microservice = module.createNestMicroservice({ strategy: sut });
    microservice.useLogger(false);
    await microservice.listen();
    bus.start();
    return { seen: module.get(Seen), sut };
  };

  const outcomes = async () =>
    Object.fromEntries(
      (await registry.getSingleMetric('bus_handler_records_total')!.get()).values.map(({ labels, value }) => [
        `${labels.topic}:${labels.outcome}`,
        value,
      ]),
    );

  it('hands each record published from now on to the @EventPattern handler, in order, with its context', async () => {
    await bus.publish('news', 'a', 'before the transport listened');
    const { seen } = await start();
    const first = await bus.publish('news', 'a', 'one');
    const second = await bus.publish('news', null, 'two');
    await settle();
    expect(seen.fanOut).toEqual([
      { value: 'one', key: 'a', position: first.position, partition: undefined },
      { value: 'two', key: null, position: second.position, partition: undefined },
    ]);
    expect(await outcomes()).toEqual({ 'news:handled': 2 });
  });

  it('registers a handler with a group as the bus command consumer of that group, once across instances', async () => {
    const handleCommands = jest.spyOn(bus, 'handleCommands');
    const { seen } = await start();
    expect(handleCommands).toHaveBeenCalledWith('orders', 'workers', expect.any(Function));
    await bus.publish('orders', null, '{"n":1}');
    await settle();
    expect(seen.commands).toEqual(['{"n":1}']);
  });

  it("rejects a failed command with the handler's own error, so the bus reads it again", async () => {
    const handleCommands = jest.spyOn(bus, 'handleCommands');
    const { seen } = await start();
    const handle = handleCommands.mock.calls[0][2];
    seen.failCommand = new Error('store down');
    const record: BusRecord = {
      topic: 'orders',
      key: null,
      value: 'x',
      position: 'orders/0@3',
      timestamp: 1,
    };
    await expect(handle(record)).rejects.toBe(seen.failCommand);
    expect(await outcomes()).toEqual({ 'orders:failed': 1 });
  });

  it('logs and counts a failed fan-out record, and goes on with the next one', async () => {
    const logged = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const { seen } = await start();
    seen.failFanOut = new Error('cannot use it');
    await bus.publish('news', null, 'bad');
    await bus.publish('news', null, 'good');
    await settle();
    expect(seen.fanOut.map((record) => record.value)).toEqual(['good']);
    expect(logged).toHaveBeenCalledWith(
      expect.stringMatching(/^Handler of news failed on .+: Error: cannot use it$/),
    );
    expect(await outcomes()).toEqual({ 'news:failed': 1, 'news:handled': 1 });
  });

  it('waits for a handler that answers with an Observable, and counts its error as a failure', async () => {
    jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const { seen } = await start();
    seen.failAsObservable = true;
    await bus.publish('news', null, 'bad');
    await settle();
    expect(await outcomes()).toEqual({ 'news:failed': 1 });
  });

  it('refuses @MessagePattern: the bus carries events, nobody replies', async () => {
    await expect(start([Replier])).rejects.toThrow(/@MessagePattern\('questions'\).+use @EventPattern/);
  });

  it('ends its fan-out subscriptions when it closes (commands end with the bus)', async () => {
    const { sut } = await start();
    const held = bus.subscriptionCount(); // the fan-out of 'news' and the bus's own command consumer
    sut.close();
    expect(bus.subscriptionCount()).toBe(held - 1);
    await bus.close();
    expect(bus.subscriptionCount()).toBe(0);
  });
});
