import type { TemperatureStreamEvent } from '../multiplex/stream-contract';
import { Inject, Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { Observable, Subscription } from 'rxjs';
import { MESSAGE_BUS } from '../bus/bus.constants';
import { isBusRecord, MessageBus } from '../bus/message-bus.interface';
import { SseItem } from '../sse/sse-replay';
import { TopicEventStream } from '../sse/topic-event-stream';
import { RecordedTemperatureEventDto } from './dto/temperature-event.dto';
import { TEMPERATURE_TOPIC } from './temperature.constants';
import { UnregisteredEntityError } from './temperature.errors';
import {
  decodeTemperatureEvent,
  encodeTemperatureEvent,
  parseTemperatureRecord,
  TemperatureEvent,
} from './temperature-event';

/**
 * Temperature entities whose events live on a commit log (the `temperature` topic, keyed by entity
 * id). Which entities are registered is derived from the log itself, so registrations made on any
 * instance, or written by another producer, count the same.
 */
@Injectable()
export class TemperatureService implements OnModuleInit, OnModuleDestroy {
  private readonly registered = new Set<string>();
  private readonly streams: TopicEventStream;
  private projection?: Subscription;

  constructor(@Inject(MESSAGE_BUS) private readonly bus: MessageBus) {
    bus.declareTopic(TEMPERATURE_TOPIC, { parse: parseTemperatureRecord, commitLog: true });
    this.streams = new TopicEventStream(bus, TEMPERATURE_TOPIC, (record) => {
      // The bus only passes records that parse, so this decodes.
      const event = decodeTemperatureEvent(record.value, record.key) as TemperatureEvent;
      return {
        data: JSON.stringify(
          Object.assign({}, event, {
            timestamp: new Date(record.timestamp).toISOString(),
          }) satisfies TemperatureStreamEvent,
        ),
      };
    });
  }

  onModuleInit(): void {
    this.projection = this.bus.subscribe(TEMPERATURE_TOPIC, { projection: true }).subscribe((delivery) => {
      if (!isBusRecord(delivery)) {
        return;
      }
      const event = decodeTemperatureEvent(delivery.value, delivery.key);
      if (!('error' in event) && event.type === 'Registered') {
        this.registered.add(event.entityId);
      }
    });
  }

  onModuleDestroy(): void {
    this.projection?.unsubscribe();
  }

  register(entityId: string): Promise<RecordedTemperatureEventDto> {
    return this.record({ type: 'Registered', entityId });
  }

  observe(entityId: string, temperature: number): Promise<RecordedTemperatureEventDto> {
    if (!this.registered.has(entityId)) {
      throw new UnregisteredEntityError(entityId);
    }
    return this.record({ type: 'TemperatureRead', entityId, temperature });
  }

  /** The entity's retained events, then live ones; after `lastEventId` when resuming. */
  stream(entityId: string, lastEventId?: string): Observable<SseItem> {
    return this.streams.open({ key: entityId, lastEventId, replay: true });
  }

  private async record(event: TemperatureEvent): Promise<RecordedTemperatureEventDto> {
    const record = await this.bus.publish(TEMPERATURE_TOPIC, event.entityId, encodeTemperatureEvent(event));
    if (event.type === 'Registered') {
      this.registered.add(event.entityId); // before the record comes back from Kafka
    }
    return Object.assign({}, event, { id: record.position });
  }
}
