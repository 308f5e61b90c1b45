import { Registry } from 'prom-client';
import { InMemoryMessageBus } from '../bus/in-memory-message-bus';
import { AppConfig } from '../config/app-config';
import { loadConfig } from '../config/environment-variables';
import { SseEvent } from '../sse/sse-event';
import { SseItem, SseReplay } from '../sse/sse-replay';
import { StreamFit } from '../sse/stream-fit';
import { KafkaTopicNotAllowedError } from './kafka.errors';
import { KafkaTopicStreams } from './kafka-topic-streams';

describe(KafkaTopicStreams.name, () => {
  let bus: InMemoryMessageBus;
  let sut: KafkaTopicStreams;

  const make = (env: Record<string, string>) => {
    const config: AppConfig = loadConfig(env);
    bus = new InMemoryMessageBus(100, 1_000_000, new Registry());
    sut = new KafkaTopicStreams(bus, new StreamFit(config), config);
  };

  const dataOf = (items: SseItem[]) =>
    items.filter((item): item is SseEvent => item instanceof SseEvent).map((event) => [event.id, event.data]);

  it('allows exactly the topics KAFKA_SSE_TOPICS lists', () => {
    make({ KAFKA_SSE_TOPICS: 'clicks,views' });
    expect(sut.topics).toEqual(['clicks', 'views']);
    expect(
      ['clicks', 'views', 'click', 'v3_messages', '__proto__', ''].map((topic) => sut.isAllowed(topic)),
    ).toEqual([true, true, false, false, false, false]);
  });

  it('refuses a topic not listed, on both streams and publishes', async () => {
    make({});
    expect(sut.topics).toEqual([]);
    expect(() => sut.events('clicks')).toThrow(KafkaTopicNotAllowedError);
    await expect(sut.publish('clicks', undefined, 'x')).rejects.toThrow(
      'Kafka topic "clicks" is not served here: it is not listed in KAFKA_SSE_TOPICS',
    );
  });

  it('streams each record of a key as it is, with its position as id, and resumes after one', async () => {
    make({ KAFKA_SSE_TOPICS: 'clicks' });
    bus.onApplicationBootstrap();
    const live: SseItem[] = [];
    const subscription = sut.events('clicks', { key: 'a' }).subscribe((item) => live.push(item));
    const first = await sut.publish('clicks', 'a', '{"n":1}');
    await sut.publish('clicks', 'b', 'other key');
    const third = await sut.publish('clicks', 'a', 'two\nlines');
    subscription.unsubscribe();
    expect(live[0]).toBeInstanceOf(SseReplay); // the starting position, before any event
    expect(dataOf(live)).toEqual([
      [first.id, '{"n":1}'],
      [third.id, 'two\nlines'],
    ]);

    const resumed: SseItem[] = [];
    sut
      .events('clicks', { lastEventId: first.id })
      .subscribe((item) => resumed.push(item))
      .unsubscribe();
    const replay = resumed[0] as SseReplay;
    const replayed: unknown[] = [];
    for (let event = await replay.next(); event; event = await replay.next()) {
      replayed.push(event.data);
    }
    expect(replayed).toEqual(['other key', 'two\nlines']);
  });

  it('refuses to publish a value whose event would not fit a stream', async () => {
    make({ KAFKA_SSE_TOPICS: 'clicks', SSE_MAX_BUFFER_BYTES: '1024' });
    await expect(sut.publish('clicks', undefined, '\n'.repeat(200))).rejects.toThrow('SSE_MAX_BUFFER_BYTES');
  });

  it('declares its topics as opened, so the bus refuses to start when one is the service’s own', () => {
    make({ KAFKA_SSE_TOPICS: 'clicks,v3_messages' });
    bus.declareTopic('v3_messages');
    expect(() => bus.onApplicationBootstrap()).toThrow('KAFKA_SSE_TOPICS: lists v3_messages,');
  });
});
