import { Controller, Post, Query, Sse } from '@nestjs/common';
import { Access } from '../auth/access.decorator';
import { ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { Observable } from 'rxjs';
import { ApiMessageBody, MessageBody } from '../common/http/message-body.decorator';
import { PublishedMessageDto, PublishMessageDto } from '../common/http/publish-message.dto';
import { ApiSseStream } from '../sse/api-sse-stream.decorator';
import { LastEventId } from '../sse/topic-event-stream';
import { SseItem } from '../sse/sse-replay';
import { SseRoute } from '../sse/sse-route.decorator';
import { V3UserQueryDto, V3UserStreamQueryDto } from './dto/v3-user-query.dto';
import { USER_STREAM_ACCESS, V3_STREAM } from './events.constants';
import { V3EventsService } from './v3-events.service';

@ApiTags('v3: per-user messages over Kafka')
@Controller('v3')
export class V3EventsController {
  constructor(private readonly events: V3EventsService) {}

  @Access(USER_STREAM_ACCESS)
  @Sse('sse')
  @SseRoute({
    stream: V3_STREAM,
    userQuery: 'username',
    keepAlive: { comment: 'keep-alive-text', intervalSetting: 'EVENTS_KEEPALIVE_MS' },
  })
  @ApiOperation({
    summary:
      "A user's messages as Server-Sent Events: those posted to any instance and `username:message` records written to the Kafka topic v3_messages by any producer",
  })
  @ApiSseStream('The messages sent to this user', 'id: 42\ndata: 🦋 howdy from kafka!\n\n')
  stream(@Query() query: V3UserStreamQueryDto, @LastEventId() lastEventId?: string): Observable<SseItem> {
    return this.events.stream(query.username, lastEventId);
  }

  @Access({ kind: 'publisher' })
  @Post('message')
  @ApiOperation({ summary: 'Send a message to every open v3 stream of a user, on every instance' })
  @ApiMessageBody()
  @ApiServiceUnavailableResponse({ description: 'Kafka did not acknowledge the message in time' })
  publish(
    @Query() query: V3UserQueryDto,
    @MessageBody() body: PublishMessageDto,
  ): Promise<PublishedMessageDto> {
    return this.events.publish(query.username, body.message);
  }
}
