import { Kafka, RecordMetadata } from 'kafkajs';
import { BusUnavailableError } from '../bus.errors';
import { KafkaPublisher } from './kafka-publisher';

describe(KafkaPublisher.name, () => {
  const options = { brokers: ['broker:9092'], publishTimeoutMs: 50 };

  /** A publisher over a fake producer whose send does what `send` says. */
  const publisherWith = (send: () => Promise<RecordMetadata[]>, reachable = true) => {
    const failures: string[] = [];
    const producer = {
      connect: jest.fn(async () => {}),
      disconnect: jest.fn(async () => {}),
      send: jest.fn(send),
    };
    const kafka = { producer: () => producer } as unknown as Kafka;
    const sut = new KafkaPublisher(
      kafka,
      options,
      () => reachable,
      (reason) => failures.push(reason),
    );
    return { sut, producer, failures };
  };

  it('sends with acks=all and answers where the broker wrote the record', async () => {
    const { sut, producer } = publisherWith(() =>
      Promise.resolve([{ topicName: 't', partition: 2, errorCode: 0, baseOffset: '41' }]),
    );
    await sut.connect();
    expect(sut.ready).toBe(true);
    await expect(sut.send('t', 'k', 'v')).resolves.toEqual({ partition: 2, offset: 41 });
    expect(producer.send).toHaveBeenCalledWith({
      topic: 't',
      acks: -1,
      timeout: 50,
      messages: [{ key: 'k', value: 'v' }],
    });
  });

  it('refuses at once, without sending, before it is connected or while the cluster is unreachable', async () => {
    const unconnected = publisherWith(() => Promise.resolve([]));
    await expect(unconnected.sut.send('t', null, 'v')).rejects.toThrow(BusUnavailableError);
    const unreachable = publisherWith(() => Promise.resolve([]), false);
    await unreachable.sut.connect();
    await expect(unreachable.sut.send('t', null, 'v')).rejects.toThrow(/not reachable \(broker:9092\)/);
    expect(unconnected.producer.send).not.toHaveBeenCalled();
    expect(unreachable.producer.send).not.toHaveBeenCalled();
  });

  it('gives up with BusUnavailableError when no acknowledgement comes within the timeout', async () => {
    const { sut, failures } = publisherWith(() => new Promise<never>(() => {}));
    await sut.connect();
    await expect(sut.send('t', null, 'v')).rejects.toThrow(
      new BusUnavailableError(
        'Kafka did not acknowledge the message within 50 ms; it may or may not have been written',
      ),
    );
    expect(failures).toEqual([]);
  });

  it('turns a failed send into BusUnavailableError and reports the reason', async () => {
    const { sut, failures } = publisherWith(() => Promise.reject(new Error('leader not available')));
    await sut.connect();
    const error = await sut.send('t', null, 'v').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(BusUnavailableError);
    expect((error as Error).message).toBe('Kafka did not take the message: leader not available');
    expect(failures).toEqual(['leader not available']);
  });
});
