import { Batch } from 'kafkajs';
import { BusDelivery, OLDEST } from '../message-bus.interface';
import { brokerlessFanout } from './testing/brokerless-fanout';
import { PartitionOffsets } from './kafka-topics';
import { KafkaStreamReader } from './kafka-message-bus';

describe(KafkaStreamReader.name, () => {
  /** A reader over a fan-out part holding one partition of topic `t`, whose end was 2 at start. */
  const setUp = async (brokerEnd: number) => {
    const { fanout, logger } = brokerlessFanout();
    fanout.declare('t', {});
    await fanout.position(() => Promise.resolve([{ partition: 0, low: 0, high: 2 }]));
    const endOffsets = jest.fn((): Promise<PartitionOffsets[]> =>
      Promise.resolve([{ partition: 0, low: 0, high: brokerEnd }]),
    );
    const sut = new KafkaStreamReader(fanout, endOffsets, logger);
    const take = (...offsets: number[]) =>
      fanout.take({
        batch: {
          topic: 't',
          partition: 0,
          highWatermark: String(Math.max(...offsets) + 1),
          messages: offsets.map((offset) => ({
            offset: String(offset),
            key: null,
            value: Buffer.from(`v${offset}`),
            timestamp: '1000',
          })),
        } as unknown as Batch,
      });
    return { sut, take, endOffsets };
  };

  const summary = (delivery: BusDelivery) =>
    'gap' in delivery
      ? `gap, from ${delivery.resumeAfter}`
      : 'replay' in delivery
        ? `replay ${delivery.records.map((record) => record.value).join(' ')} from ${delivery.position}`
        : delivery.value;

  it('holds a stream until the topic caught up, then replays after its position and goes live', async () => {
    const { sut, take } = await setUp(2);
    const seen: string[] = [];
    sut.subscribe('t', { after: '1' }).subscribe((delivery) => seen.push(summary(delivery)));
    take(0);
    expect(seen).toEqual([]);
    take(1);
    take(2);
    expect(seen).toEqual(['replay v1 from 1', 'v2']);
  });

  it('replays everything held for OLDEST', async () => {
    const { sut, take } = await setUp(2);
    take(0, 1);
    const seen: string[] = [];
    sut.subscribe('t', { after: OLDEST }).subscribe((delivery) => seen.push(summary(delivery)));
    expect(seen).toEqual(['replay v0 v1 from 0']);
  });

  it('asks the broker about a position past what it holds: issued by an instance that read further', async () => {
    const { sut, take, endOffsets } = await setUp(5);
    take(0, 1);
    const seen: string[] = [];
    sut.subscribe('t', { after: '4' }).subscribe((delivery) => seen.push(summary(delivery)));
    await new Promise((resolve) => setImmediate(resolve));
    expect(endOffsets).toHaveBeenCalledWith('t');
    take(2, 3, 4);
    // The records before the position were that client's already: only the ones after it.
    expect(seen).toEqual(['replay  from 4', 'v4']);
  });

  it('gives a gap for a position past the end of the topic, and goes on from what it holds', async () => {
    const { sut, take } = await setUp(2);
    take(0, 1);
    const seen: string[] = [];
    sut.subscribe('t', { after: '9' }).subscribe((delivery) => seen.push(summary(delivery)));
    await new Promise((resolve) => setImmediate(resolve));
    take(2);
    expect(seen).toEqual(['gap, from 2', 'replay  from 2', 'v2']);
  });
});
