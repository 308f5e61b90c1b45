import { Controller, Post, Query, Sse } from '@nestjs/common';
import { Access } from '../auth/access.decorator';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Observable } from 'rxjs';
import { ApiMessageBody, MessageBody } from '../common/http/message-body.decorator';
import { PublishedMessageDto, PublishMessageDto } from '../common/http/publish-message.dto';
import { LastEventId } from '../sse/topic-event-stream';
import { SseItem } from '../sse/sse-replay';
import { ApiSseStream } from '../sse/api-sse-stream.decorator';
import { SseRoute } from '../sse/sse-route.decorator';
import { UserQueryDto, UserStreamQueryDto } from './dto/user-query.dto';
import { USER_STREAM_ACCESS, V2_STREAM } from './events.constants';
import { EventsService } from './events.service';

@ApiTags('v2: per-user messages')
@Controller('v2')
export class EventsController {
  constructor(private readonly events: EventsService) {}

  @Access(USER_STREAM_ACCESS)
  @Sse('sse')
  @SseRoute({
    stream: V2_STREAM,
    userQuery: 'username',
    keepAlive: { comment: 'keep-alive-text', intervalSetting: 'EVENTS_KEEPALIVE_MS' },
  })
  @ApiOperation({ summary: "A user's messages as Server-Sent Events; resumes after Last-Event-ID" })
  @ApiSseStream('The messages sent to this user', 'id: mwwj113o-2\ndata: Howdy 🤠\n\n')
  stream(@Query() query: UserStreamQueryDto, @LastEventId() lastEventId?: string): Observable<SseItem> {
    return this.events.messages.open({ key: query.username, lastEventId });
  }

  @Access({ kind: 'publisher' })
  @Post('message')
  @ApiOperation({ summary: 'Send a message to every open stream of a user' })
  @ApiMessageBody()
  publish(
    @Query() query: UserQueryDto,
    @MessageBody() body: PublishMessageDto,
  ): Promise<PublishedMessageDto> {
    return this.events.publish(query.username, body.message);
  }
}
