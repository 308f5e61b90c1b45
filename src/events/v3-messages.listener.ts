import { Logger } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { BusContext } from '../bus/transport/bus-context';
import { BusHandlers } from '../bus/transport/bus-handlers.decorator';
import { V3_MESSAGES_TOPIC } from './events.constants';
import { v3MessageOf } from './v3-record';

/**
 * Every v3 message this instance receives, whoever wrote it (this service, `kcat`, another
 * producer), once each: a debug line per message, with where it sits in Kafka. Malformed records
 * never get here: the topic's parser (v3-record.ts) has the bus log, count and skip them.
 */
@BusHandlers()
export class V3MessagesListener {
  private readonly logger = new Logger(V3MessagesListener.name);

  @EventPattern<string>(V3_MESSAGES_TOPIC)
  received(@Payload() value: string, @Ctx() context: BusContext): void {
    const partition = context.getPartition();
    const where =
      partition === undefined
        ? context.getPosition()
        : `partition ${partition}, offset ${context.getOffset()}`;
    const headers = Object.keys(context.getHeaders());
    this.logger.debug(
      `v3 message for ${context.getKey()} (${where}${headers.length > 0 ? `, headers ${headers.join(', ')}` : ''}): ${v3MessageOf(value).length} characters`,
    );
  }
}
