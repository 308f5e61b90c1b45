import { Body, Controller, HttpCode, HttpStatus, Param, Post, Query, Sse } from '@nestjs/common';
import { Access } from '../auth/access.decorator';
import {
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import { Observable } from 'rxjs';
import { ApiSseStream } from '../sse/api-sse-stream.decorator';
import { LastEventId } from '../sse/topic-event-stream';
import { SseItem } from '../sse/sse-replay';
import { SseQueryDto } from '../sse/sse-query.dto';
import { SseRoute } from '../sse/sse-route.decorator';
import { EntityIdParamDto } from './dto/entity-id-param.dto';
import { ObservationDto } from './dto/observation.dto';
import { RecordedTemperatureEventDto } from './dto/temperature-event.dto';
import { ENTITY_STREAM_ACCESS, ENTITY_STREAM_MAX_DURATION_SETTING } from './temperature.constants';
import { TemperatureService } from './temperature.service';

@ApiTags('temperature entities')
@ApiServiceUnavailableResponse({ description: 'Kafka did not acknowledge the event in time' })
@Controller('api/temperature')
export class TemperatureController {
  constructor(private readonly temperature: TemperatureService) {}

  @Access({ kind: 'publisher' })
  @Post(':id/registration')
  @HttpCode(HttpStatus.CREATED)
  @ApiOperation({ summary: 'Register a temperature entity: records a Registered event' })
  @ApiCreatedResponse({ type: RecordedTemperatureEventDto })
  register(@Param() params: EntityIdParamDto): Promise<RecordedTemperatureEventDto> {
    return this.temperature.register(params.id);
  }

  @Access({ kind: 'publisher' })
  @Post(':id/observations')
  @HttpCode(HttpStatus.CREATED)
  @ApiOperation({ summary: 'Record a temperature read by a registered entity: a TemperatureRead event' })
  @ApiCreatedResponse({ type: RecordedTemperatureEventDto })
  @ApiNotFoundResponse({ description: 'The entity is not registered' })
  observe(
    @Param() params: EntityIdParamDto,
    @Body() body: ObservationDto,
  ): Promise<RecordedTemperatureEventDto> {
    return this.temperature.observe(params.id, body.temperature);
  }

  @Access(ENTITY_STREAM_ACCESS)
  @Sse('events/:id')
  @SseRoute({
    stream: 'temperature',
    keepAlive: { comment: 'keep-alive', intervalSetting: 'TEMPERATURE_KEEPALIVE_MS' },
    maxDurationSetting: ENTITY_STREAM_MAX_DURATION_SETTING,
  })
  @ApiOperation({
    summary:
      "An entity's events as JSON: its retained history, then live. Each connection ends after MAX_SSE_CONNECTION_TIME; reconnect with Last-Event-ID to go on",
  })
  @ApiSseStream(
    "The entity's events",
    'id: 3\ndata: {"type":"TemperatureRead","entityId":"sensor-1","temperature":21.5,"timestamp":"2026-11-25T12:00:00.000Z"}\n\n',
  )
  stream(
    @Param() params: EntityIdParamDto,
    @Query() _query: SseQueryDto,
    @LastEventId() lastEventId?: string,
  ): Observable<SseItem> {
    return this.temperature.stream(params.id, lastEventId);
  }
}
