import { Consumer, ConsumerRunConfig, EachMessagePayload, KafkaMessage } from 'kafkajs';
import { Counter, Registry } from 'prom-client';
import { BusRecord } from '../message-bus.interface';
import { KafkaCommandConsumers } from './kafka-command-consumers';

describe(KafkaCommandConsumers.name, () => {
  /** A fake of the consumer surface used: events, connect, subscribe, run, disconnect. */
  const fakeConsumer = () => {
    const listeners = new Map<string, (event: unknown) => void>();
    const consumer = {
      events: { GROUP_JOIN: 'join', CRASH: 'crash', DISCONNECT: 'disconnect', STOP: 'stop' },
      on: (event: string, listener: (event: unknown) => void) => listeners.set(event, listener),
      connect: jest.fn(() => Promise.resolve()),
      subscribe: jest.fn(() => Promise.resolve()),
      disconnect: jest.fn(() => Promise.resolve()),
      run: jest.fn((config: ConsumerRunConfig) => {
        consumer.eachMessage = config.eachMessage!;
        return Promise.resolve();
      }),
      eachMessage: undefined as unknown as (payload: EachMessagePayload) => Promise<void>,
      emit: (event: string, restart = true) =>
        listeners.get(event)?.({ payload: { error: new Error('x'), restart } }),
    };
    return consumer;
  };

  const setUp = () => {
    const consumers: ReturnType<typeof fakeConsumer>[] = [];
    const kafka = {
      consumer: jest.fn(() => {
        const consumer = fakeConsumer();
        consumers.push(consumer);
        return consumer as unknown as Consumer;
      }),
    };
    const skipped = new Counter({
      name: 'skipped',
      help: 'skipped',
      labelNames: ['topic'],
      registers: [new Registry()],
    });
    const logger = { warn: jest.fn(), error: jest.fn() };
    const sut = new KafkaCommandConsumers(kafka, 'gw', skipped, logger, 1);
    return { sut, kafka, consumers, skipped, logger };
  };

  const message = (value: Buffer, key: string | null = 'k'): KafkaMessage =>
    ({ offset: '7', key: key === null ? null : Buffer.from(key), value, timestamp: '1000' }) as KafkaMessage;

  /** Registers a handler of `cmds` that keeps what it is given, and starts. */
  const startRecording = async (sut: KafkaCommandConsumers): Promise<BusRecord[]> => {
    const handled: BusRecord[] = [];
    sut.register('cmds', 'workers', (record) => {
      handled.push(record);
      return Promise.resolve();
    });
    await sut.start();
    return handled;
  };

  const deliver = (consumer: ReturnType<typeof fakeConsumer>, value: Buffer) =>
    consumer.eachMessage({ topic: 'cmds', partition: 1, message: message(value) } as EachMessagePayload);

  it('reads each registered topic from its beginning with a group shared by every instance', async () => {
    const { sut, kafka, consumers } = setUp();
    sut.register('cmds', 'workers', () => Promise.resolve());
    await sut.start();
    await sut.start(); // still running: not built twice
    expect(kafka.consumer).toHaveBeenCalledTimes(1);
    expect(kafka.consumer).toHaveBeenCalledWith(expect.objectContaining({ groupId: 'gw.workers' }));
    expect(consumers[0].subscribe).toHaveBeenCalledWith({ topics: ['cmds'], fromBeginning: true });
    expect(sut.topics).toEqual(['cmds']);
  });

  it('hands a command to its handler as a record positioned by partition and offset', async () => {
    const { sut, consumers } = setUp();
    const handled = await startRecording(sut);
    await deliver(consumers[0], Buffer.from('{"do":"it"}'));
    expect(handled).toEqual([
      {
        topic: 'cmds',
        key: 'k',
        value: '{"do":"it"}',
        position: 'cmds/1@7',
        timestamp: 1000,
        partition: 1,
        offset: 7,
      },
    ]);
    expect(handled[0].headers).toBeUndefined();
  });

  it("carries the command's headers as text, a repeated header as a list", async () => {
    const { sut, consumers } = setUp();
    const handled = await startRecording(sut);
    await consumers[0].eachMessage({
      topic: 'cmds',
      partition: 0,
      message: {
        ...message(Buffer.from('x')),
        headers: { trace: Buffer.from('abc'), tag: [Buffer.from('a'), 'b'], gone: undefined },
      },
    } as unknown as EachMessagePayload);
    expect(handled[0].headers).toEqual({ trace: 'abc', tag: ['a', 'b'] });
  });

  it('skips and counts a command that is not valid UTF-8, without calling the handler', async () => {
    const { sut, consumers, skipped, logger } = setUp();
    const handler = jest.fn(() => Promise.resolve());
    sut.register('cmds', 'workers', handler);
    await sut.start();
    await deliver(consumers[0], Buffer.from([0xff, 0xfe]));
    expect(handler).not.toHaveBeenCalled();
    expect(logger.warn).toHaveBeenCalledWith('Skipped command cmds/1@7: its value is not valid UTF-8');
    expect((await skipped.get()).values).toEqual([{ labels: { topic: 'cmds' }, value: 1 }]);
  });

  it('hands on a command whose header has no value, without that header, and one without a key', async () => {
    const { sut, consumers } = setUp();
    const handled = await startRecording(sut);
    await consumers[0].eachMessage({
      topic: 'cmds',
      partition: 0,
      message: { ...message(Buffer.from('x'), null), headers: { novalue: null, trace: Buffer.from('t') } },
    } as unknown as EachMessagePayload);
    await consumers[0].eachMessage({
      topic: 'cmds',
      partition: 0,
      message: { ...message(Buffer.from('y')), value: null, timestamp: '-1' },
    } as unknown as EachMessagePayload);
    expect(handled.map(({ key, value, headers }) => ({ key, value, headers }))).toEqual([
      { key: null, value: 'x', headers: { trace: 't' } },
      { key: 'k', value: '', headers: undefined },
    ]);
    expect(handled[1].timestamp).toBeGreaterThan(1000);
  });

  it('skips and counts a command whose key is not valid UTF-8', async () => {
    const { sut, consumers, logger } = setUp();
    const handled = await startRecording(sut);
    await consumers[0].eachMessage({
      topic: 'cmds',
      partition: 1,
      message: { ...message(Buffer.from('x')), key: Buffer.from([0xfe]) },
    } as unknown as EachMessagePayload);
    expect(handled).toEqual([]);
    expect(logger.warn).toHaveBeenCalledWith('Skipped command cmds/1@7: its key is not valid UTF-8');
  });

  it('rethrows a handler failure, so that kafkajs does not commit the command and retries it', async () => {
    const { sut, consumers, logger } = setUp();
    sut.register('cmds', 'workers', () => Promise.reject(new Error('db down')));
    await sut.start();
    await expect(deliver(consumers[0], Buffer.from('x'))).rejects.toThrow('db down');
    expect(logger.error).toHaveBeenCalledWith(
      'Command handler of cmds failed on cmds/1@7, retrying: db down',
    );
  });

  it('counts the consumers that joined their group, and forgets them on reset', async () => {
    const { sut, kafka, consumers } = setUp();
    sut.register('a', 'g', () => Promise.resolve());
    sut.register('b', 'g', () => Promise.resolve());
    await sut.start();
    consumers[0].emit('join');
    expect([sut.joined, sut.registered]).toEqual([1, 2]);
    consumers[0].emit('crash');
    expect(sut.joined).toBe(0);
    consumers[1].emit('join');
    await sut.reset();
    expect(consumers.every((consumer) => consumer.disconnect.mock.calls.length === 1)).toBe(true);
    expect(sut.joined).toBe(0);
    await sut.start();
    expect(kafka.consumer).toHaveBeenCalledTimes(4);
  });

  it('builds a consumer again when kafkajs gives it up, and leaves a restart to kafkajs', async () => {
    const { sut, kafka, consumers, logger } = setUp();
    const handled = await startRecording(sut);
    consumers[0].emit('crash', true);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(kafka.consumer).toHaveBeenCalledTimes(1);

    consumers[0].emit('crash', false);
    expect(logger.warn).toHaveBeenLastCalledWith(
      'Kafka command consumer of cmds stopped (x); building it again',
    );
    await waitFor(() => kafka.consumer.mock.calls.length === 2 && consumers[1].run.mock.calls.length === 1);
    expect(consumers[0].disconnect).toHaveBeenCalledTimes(1);
    expect(kafka.consumer).toHaveBeenLastCalledWith(expect.objectContaining({ groupId: 'gw.workers' }));
    expect(consumers[1].subscribe).toHaveBeenCalledWith({ topics: ['cmds'], fromBeginning: true });
    consumers[1].emit('join');
    expect(sut.joined).toBe(1);
    await deliver(consumers[1], Buffer.from('again'));
    expect(handled.map((record) => record.value)).toEqual(['again']);
    // The old consumer's late events change nothing.
    consumers[0].emit('crash', false);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(kafka.consumer).toHaveBeenCalledTimes(2);
  });

  it('keeps trying to build a consumer kafkajs gave up on while Kafka refuses, and stops when closed', async () => {
    const { sut, kafka, consumers, logger } = setUp();
    await startRecording(sut);
    let refusals = 2;
    kafka.consumer.mockImplementation(() => {
      const consumer = fakeConsumer();
      if (refusals-- > 0) {
        consumer.connect.mockImplementation(() => Promise.reject(new Error('ECONNREFUSED')));
      }
      consumers.push(consumer);
      return consumer as unknown as Consumer;
    });
    consumers[0].emit('crash', false);
    await waitFor(() => consumers.length === 4 && consumers[3].run.mock.calls.length === 1);
    expect(logger.warn).toHaveBeenCalledWith(
      'Could not build the Kafka command consumer of cmds again (ECONNREFUSED); retrying',
    );
    expect(consumers[1].disconnect).toHaveBeenCalled();

    await sut.disconnect();
    expect(consumers[3].disconnect).toHaveBeenCalledTimes(1);
    consumers[3].emit('crash', false);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(kafka.consumer).toHaveBeenCalledTimes(4);
  });
});

async function waitFor(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 2_000;
  while (!condition()) {
    if (Date.now() > deadline) {
      throw new Error('condition not met within 2 s');
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
