import { Module } from '@nestjs/common';
import { EventsController } from './events.controller';
import { EventsService } from './events.service';
import { V2StreamKind } from './v2-stream.kind';
import { V3StreamKind } from './v3-stream.kind';
import { V3EventsController } from './v3-events.controller';
import { V3EventsService } from './v3-events.service';
import { V3MessagesListener } from './v3-messages.listener';

/** Per-user message streams: v2 (in the bus of this process or Kafka) and v3 (Kafka's v3_messages). */
@Module({
  controllers: [EventsController, V3EventsController, V3MessagesListener],
  providers: [EventsService, V3EventsService, V2StreamKind, V3StreamKind],
  exports: [EventsService, V3EventsService],
})
export class EventsModule {}
