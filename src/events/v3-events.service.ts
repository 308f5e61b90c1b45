import { Inject, Injectable } from '@nestjs/common';
import { Observable } from 'rxjs';
import { MESSAGE_BUS } from '../bus/bus.constants';
import { MessageBus } from '../bus/message-bus.interface';
import { BusClient } from '../bus/transport/bus-client';
import { SseItem } from '../sse/sse-replay';
import { StreamFit } from '../sse/stream-fit';
import { TopicEventStream } from '../sse/topic-event-stream';
import { V3_MESSAGES_TOPIC } from './events.constants';
import { parseV3Record, v3MessageOf, v3RecordOf } from './v3-record';

/**
 * v3 per-user messages: as v2, but the topic is open to every producer of the Kafka cluster, so
 * records are parsed (and malformed ones skipped by the bus) rather than trusted.
 */
@Injectable()
export class V3EventsService {
  private readonly streams: TopicEventStream;

  constructor(
    @Inject(MESSAGE_BUS) private readonly bus: MessageBus,
    private readonly fit: StreamFit,
    private readonly producer: BusClient,
  ) {
    bus.declareTopic(V3_MESSAGES_TOPIC, {
      parse: this.fit.parser(() => bus.head(V3_MESSAGES_TOPIC).length, v3MessageOf, parseV3Record),
    });
    this.streams = new TopicEventStream(bus, V3_MESSAGES_TOPIC, (record) => ({
      data: v3MessageOf(record.value),
    }));
  }

  stream(username: string, lastEventId?: string): Observable<SseItem> {
    return this.streams.open({ key: username, lastEventId });
  }

  async publish(username: string, message: string): Promise<{ id: string }> {
    this.fit.assertFits(message, this.bus.head(V3_MESSAGES_TOPIC).length);
    const record = await this.producer.produce(V3_MESSAGES_TOPIC, {
      key: username,
      value: v3RecordOf(username, message),
    });
    return { id: record.position };
  }
}
