import { Inject, Injectable } from '@nestjs/common';
import { MESSAGE_BUS } from '../bus/bus.constants';
import { MessageBus } from '../bus/message-bus.interface';
import { StreamFit } from '../sse/stream-fit';
import { TopicEventStream } from '../sse/topic-event-stream';
import { USER_MESSAGES_TOPIC } from './events.constants';

/** Per-user messages: published to one user, delivered to every open stream of that user only. */
@Injectable()
export class EventsService {
  /** Each user's messages, keyed by user name: `data:` is the message as published. */
  readonly messages: TopicEventStream;

  constructor(
    @Inject(MESSAGE_BUS) private readonly bus: MessageBus,
    private readonly fit: StreamFit,
  ) {
    bus.declareTopic(USER_MESSAGES_TOPIC, {
      parse: this.fit.parser(() => bus.head(USER_MESSAGES_TOPIC).length),
    });
    this.messages = new TopicEventStream(bus, USER_MESSAGES_TOPIC);
  }

  async publish(username: string, message: string): Promise<{ id: string }> {
    this.fit.assertFits(message, this.bus.head(USER_MESSAGES_TOPIC).length);
    const record = await this.bus.publish(USER_MESSAGES_TOPIC, username, message);
    return { id: record.position };
  }
}
