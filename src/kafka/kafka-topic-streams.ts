import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { Observable } from 'rxjs';
import { MESSAGE_BUS } from '../bus/bus.constants';
import { MessageBus } from '../bus/message-bus.interface';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { SseItem } from '../sse/sse-replay';
import { StreamFit } from '../sse/stream-fit';
import { TopicEventStream } from '../sse/topic-event-stream';
import { KAFKA_SSE_TOPICS_SETTING } from './kafka.constants';
import { KafkaTopicNotAllowedError } from './kafka.errors';

/**
 * The Kafka topics of other producers that KAFKA_SSE_TOPICS opens to clients, as streams and as
 * a place to publish. Every record is one event: its value as the event's data, unchanged (text or
 * JSON), its position as the id; the record key is what `key` selects. Used by the kafka routes
 * and by any route that streams one of these topics.
 */
@Injectable()
export class KafkaTopicStreams implements OnModuleInit {
  private readonly logger = new Logger(KafkaTopicStreams.name);
  private readonly streams = new Map<string, TopicEventStream>();

  constructor(
    @Inject(MESSAGE_BUS) private readonly bus: MessageBus,
    private readonly fit: StreamFit,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    for (const topic of config.KAFKA_SSE_TOPICS) {
      // Any producer writes these: a record too large for a stream is skipped (logged, counted).
      bus.declareTopic(topic, {
        openedBy: KAFKA_SSE_TOPICS_SETTING,
        parse: fit.parser(() => bus.head(topic).length),
      });
      this.streams.set(topic, new TopicEventStream(bus, topic, (record) => ({ data: record.value })));
    }
  }

  onModuleInit(): void {
    if (this.streams.size > 0) {
      this.logger.log(
        `${KAFKA_SSE_TOPICS_SETTING} lists ${this.topics.join(', ')}: streamed at GET /kafka/<topic>/sse, written by POST /kafka/<topic>`,
      );
    }
  }

  /** The topics open to clients, as KAFKA_SSE_TOPICS lists them. */
  get topics(): string[] {
    return [...this.streams.keys()];
  }

  isAllowed(topic: string): boolean {
    return this.streams.has(topic);
  }

  /**
   * The topic's live events (of one record key), after those that followed `lastEventId` when it
   * is given. Throws KafkaTopicNotAllowedError (404) for a topic that is not open.
   */
  events(topic: string, options: { key?: string; lastEventId?: string } = {}): Observable<SseItem> {
    return this.streamOf(topic).open({ key: options.key, lastEventId: options.lastEventId });
  }

  /** Publishes `value` as one record; resolves with its position once the bus acknowledged it. */
  async publish(topic: string, key: string | undefined, value: string): Promise<{ id: string }> {
    this.streamOf(topic);
    this.fit.assertFits(value, this.bus.head(topic).length);
    const record = await this.bus.publish(topic, key ?? null, value);
    return { id: record.position };
  }

  private streamOf(topic: string): TopicEventStream {
    const stream = this.streams.get(topic);
    if (!stream) {
      throw new KafkaTopicNotAllowedError(topic);
    }
    return stream;
  }
}
