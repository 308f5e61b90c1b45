import { Controller, Get, Header, Param, Post, Query, Sse } from '@nestjs/common';
import { Access } from '../auth/access.decorator';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { Observable } from 'rxjs';
import { ApiMessageBody, MessageBody } from '../common/http/message-body.decorator';
import { PublishedMessageDto, PublishMessageDto } from '../common/http/publish-message.dto';
import { LastEventId } from '../sse/topic-event-stream';
import { SseItem } from '../sse/sse-replay';
import { ApiSseStream } from '../sse/api-sse-stream.decorator';
import { SseRoute } from '../sse/sse-route.decorator';
import { SseQueryDto } from '../sse/sse-query.dto';
import { BROADCAST_STREAM_ACCESS } from './broadcaster.constants';
import { BroadcasterService } from './broadcaster.service';
import { BroadcastParamDto } from './dto/broadcast-param.dto';

@ApiTags('broadcaster')
@Controller('events')
export class BroadcasterController {
  constructor(private readonly broadcaster: BroadcasterService) {}

  @Access(BROADCAST_STREAM_ACCESS)
  @Sse()
  @SseRoute({ stream: 'broadcast', keepAlive: { comment: 'ping', intervalSetting: 'BROADCAST_PING_MS' } })
  @ApiOperation({ summary: 'Every broadcast, after a first `data: connected` event' })
  @ApiSseStream(
    '`data: connected`, then every broadcast; a `: ping` comment every 10 s',
    'id: mwwj113o-0\ndata: connected\n\nid: mwwj113o-1\ndata: hello\n\n',
  )
  stream(@Query() _query: SseQueryDto, @LastEventId() lastEventId?: string): Observable<SseItem> {
    return this.broadcaster.stream(lastEventId);
  }

  @Access({ kind: 'publisher' })
  @Post()
  @ApiOperation({ summary: 'Broadcast a message to every client (the documented way)' })
  @ApiMessageBody()
  publish(@MessageBody() body: PublishMessageDto): Promise<PublishedMessageDto> {
    return this.broadcaster.broadcast(body.message);
  }

  @Access({ kind: 'publisher' })
  @Get(':msg')
  @Header('Content-Type', 'text/plain; charset=utf-8')
  @ApiOperation({
    summary: 'Broadcast the path segment (as the reference tutorial does); answers "msg sent"',
  })
  @ApiProduces('text/plain')
  @ApiOkResponse({ description: '`msg sent`', type: String })
  async broadcastByGet(@Param() params: BroadcastParamDto): Promise<string> {
    await this.broadcaster.broadcast(params.msg);
    return 'msg sent';
  }
}
