import { Controller, Query, Sse } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { Observable } from 'rxjs';
import { SseEvent } from '../sse/sse-event';
import { SseRoute } from '../sse/sse-route.decorator';
import { HeartbeatQueryDto } from './dto/heartbeat-query.dto';
import { HeartbeatService } from './heartbeat.service';

@ApiTags('v1: heartbeat')
@Controller('v1')
export class HeartbeatController {
  constructor(private readonly heartbeat: HeartbeatService) {}

  @Sse('sse')
  @SseRoute({
    stream: 'v1',
    userQuery: 'username',
    keepAlive: { comment: 'keep-alive-text', intervalSetting: 'HEARTBEAT_KEEPALIVE_MS' },
  })
  @ApiOperation({ summary: '`data: hi!` every 15 s and `: keep-alive-text` every 3 s (both configurable)' })
  @ApiProduces('text/event-stream')
  @ApiOkResponse({ description: 'text/event-stream' })
  stream(@Query() _query: HeartbeatQueryDto): Observable<SseEvent> {
    return this.heartbeat.beats();
  }
}
