import { Batch, KafkaMessage } from 'kafkajs';
import { BusRecord, TopicOptions } from '../message-bus.interface';
import { KafkaFanoutConsumer } from './kafka-fanout-consumer';
import { brokerlessFanout } from './testing/brokerless-fanout';

describe(KafkaFanoutConsumer.name, () => {
  /** A fan-out part positioned on topic `t` (two partitions, both empty), without a broker. */
  const setUp = async (options: TopicOptions = {}) => {
    const { fanout: sut, registry, skipped, logger } = brokerlessFanout();
    sut.declare('t', options);
    await sut.position(() =>
      Promise.resolve([
        { partition: 0, low: 0, high: 0 },
        { partition: 1, low: 0, high: 0 },
      ]),
    );
    const delivered: BusRecord[] = [];
    sut.live('t').subscribe((record) => delivered.push(record));
    return { sut, skipped, logger, registry, delivered };
  };

  const message = (offset: number, value: string | Buffer, key: string | null = null): KafkaMessage => ({
    offset: String(offset),
    key: key === null ? null : Buffer.from(key),
    value: Buffer.from(value),
    timestamp: '1000',
    attributes: 0,
    headers: {},
  });

  const batch = (partition: number, highWatermark: number, messages: KafkaMessage[]) => ({
    batch: { topic: 't', partition, highWatermark: String(highWatermark), messages } as unknown as Batch,
  });

  it('delivers an acknowledged publish at once and drops the same record when it is consumed', async () => {
    const { sut, delivered } = await setUp();
    const acked = sut.acknowledged(sut.state('t'), 0, 0, null, 'mine');
    expect(acked.position).toBe('1.0');
    sut.take(batch(0, 2, [message(0, 'mine'), message(1, 'theirs')]));
    expect(delivered.map((record) => record.value)).toEqual(['mine', 'theirs']);
  });

  it('delivers a consumed record with its partition, offset and headers (none kept when it has none)', async () => {
    const { sut, delivered } = await setUp();
    sut.take(
      batch(1, 2, [
        message(0, 'plain'),
        { ...message(1, 'traced'), headers: { trace: Buffer.from('t-1') } } as KafkaMessage,
      ]),
    );
    expect(delivered.map(({ partition, offset, headers }) => ({ partition, offset, headers }))).toEqual([
      { partition: 1, offset: 0, headers: undefined },
      { partition: 1, offset: 1, headers: { trace: 't-1' } },
    ]);
  });

  it('leaves an acknowledged publish that is not next in its partition to the consumer, in order', async () => {
    const { sut, delivered } = await setUp();
    const acked = sut.acknowledged(sut.state('t'), 1, 1, null, 'mine');
    expect(acked.position).toBe('0.2'); // a vector: partition 0 as held, partition 1 after the record
    expect(delivered).toEqual([]);
    sut.take(batch(1, 2, [message(0, 'theirs'), message(1, 'mine')]));
    expect(delivered.map((record) => record.value)).toEqual(['theirs', 'mine']);
  });

  it('gives a publish consumed before its acknowledgement came the id streams gave it', async () => {
    const { sut, delivered } = await setUp();
    sut.take(batch(1, 2, [message(0, 'theirs'), message(1, 'mine')]));
    sut.take(batch(0, 1, [message(0, 'later')]));
    const acked = sut.acknowledged(sut.state('t'), 1, 1, null, 'mine');
    expect(acked.position).toBe('0.2');
    expect(acked.position).toBe(delivered[1].position);
    expect(delivered.map((record) => record.value)).toEqual(['theirs', 'mine', 'later']);
  });

  it('skips, logs and counts a record that is not valid UTF-8 or that the topic rejects', async () => {
    const parse = (value: string, key: string | null) =>
      value === 'bad' ? { error: 'not an event' } : { key };
    const { sut, delivered, skipped, logger } = await setUp({ parse });
    sut.take(
      batch(0, 3, [message(0, Buffer.from([0xff, 0xfe])), message(1, 'bad'), message(2, 'good', 'k')]),
    );
    expect(delivered.map((record) => [record.key, record.value])).toEqual([['k', 'good']]);
    expect(logger.warn).toHaveBeenCalledWith('Skipped record t/0@0: its value is not valid UTF-8');
    expect(logger.warn).toHaveBeenCalledWith('Skipped record t/0@1: not an event');
    expect((await skipped.get()).values).toEqual([{ labels: { topic: 't' }, value: 2 }]);
    // The skipped offsets count as taken: the partition's next record is after them.
    expect(sut.state('t').log.nextOffset(0)).toBe(3);
  });

  it('delivers the records after one whose header has no value, that one without the header', async () => {
    const { sut, delivered } = await setUp();
    sut.take(
      batch(0, 3, [
        { ...message(0, 'poison'), headers: { novalue: null } } as unknown as KafkaMessage,
        { ...message(1, 'tombstone'), value: null, key: null, timestamp: '-1' },
        message(2, 'after', 'k'),
      ]),
    );
    expect(delivered.map(({ key, value, headers }) => ({ key, value, headers }))).toEqual([
      { key: null, value: 'poison', headers: undefined },
      { key: null, value: '', headers: undefined },
      { key: 'k', value: 'after', headers: undefined },
    ]);
    expect(sut.state('t').log.nextOffset(0)).toBe(3);
  });

  it('skips a record whose key is not UTF-8, and one its topic cannot parse, and goes on', async () => {
    const parse = (value: string, key: string | null) => {
      if (value === 'throws') {
        throw new Error('parser bug');
      }
      return { key };
    };
    const { sut, delivered, logger } = await setUp({ parse });
    sut.take(
      batch(0, 3, [
        { ...message(0, 'binary key'), key: Buffer.from([0xff]) },
        message(1, 'throws'),
        message(2, 'after'),
      ]),
    );
    expect(delivered.map((record) => record.value)).toEqual(['after']);
    expect(logger.warn).toHaveBeenCalledWith('Skipped record t/0@0: its key is not valid UTF-8');
    expect(logger.warn).toHaveBeenCalledWith('Skipped record t/0@1: it could not be parsed (parser bug)');
  });

  it('catches up once every partition reached the end it had at start, then lets waiting streams in', async () => {
    const { sut } = await setUp();
    const state = sut.state('t');
    state.caughtUp = false;
    state.target = [2, 0];
    const attach = jest.fn();
    state.waiting.add(attach);
    sut.take(batch(0, 2, [message(0, 'a')]));
    expect(attach).not.toHaveBeenCalled();
    sut.take(batch(0, 2, [message(1, 'b')]));
    expect(state.caughtUp).toBe(true);
    expect(attach).toHaveBeenCalledTimes(1);
  });

  it('reports the lag of each partition behind its high watermark', async () => {
    const { sut, registry } = await setUp();
    sut.take(batch(0, 5, [message(0, 'a')]));
    const lag = await registry.getSingleMetric('kafka_consumer_lag')!.get();
    expect(lag.values).toEqual(
      expect.arrayContaining([
        { labels: { topic: 't', partition: '0' }, value: 4 },
        { labels: { topic: 't', partition: '1' }, value: 0 },
      ]),
    );
  });
});
