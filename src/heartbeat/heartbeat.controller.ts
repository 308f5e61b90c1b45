import { Controller, Query, Sse } from '@nestjs/common';
import { Access } from '../auth/access.decorator';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Observable } from 'rxjs';
import { SseEvent } from '../sse/sse-event';
import { ApiSseStream } from '../sse/api-sse-stream.decorator';
import { SseRoute } from '../sse/sse-route.decorator';
import { HeartbeatQueryDto } from './dto/heartbeat-query.dto';
import { HeartbeatService } from './heartbeat.service';

@ApiTags('v1: heartbeat')
@Controller('v1')
export class HeartbeatController {
  constructor(private readonly heartbeat: HeartbeatService) {}

  @Access({ kind: 'subscriber', subjectQuery: 'username' })
  @Sse('sse')
  @SseRoute({
    stream: 'v1',
    userQuery: 'username',
    keepAlive: { comment: 'keep-alive-text', intervalSetting: 'HEARTBEAT_KEEPALIVE_MS' },
  })
  @ApiOperation({
    summary:
      '`data: hi!` every 15 s and `: keep-alive-text` after 3 s without another write (both configurable)',
  })
  @ApiSseStream(
    '`data: hi!` every 15 s, `: keep-alive-text` after 3 s without another write',
    ': keep-alive-text\n\nid: 1795635805397\ndata: hi!\n\n',
  )
  stream(@Query() _query: HeartbeatQueryDto): Observable<SseEvent> {
    return this.heartbeat.beats();
  }
}
