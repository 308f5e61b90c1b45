import { Observable } from 'rxjs';
import { MultiplexStream, ParsedParameter, StreamKind } from '../multiplex/stream-kind';
import { parameterByDto } from '../multiplex/stream-catalog';
import { SseItem } from '../sse/sse-replay';
import { EntityIdParamDto } from './dto/entity-id-param.dto';
import { ENTITY_STREAM_ACCESS, ENTITY_STREAM_MAX_DURATION_SETTING } from './temperature.constants';
import { TemperatureService } from './temperature.service';

/** `temperature:<entity id>` in GET /sse: what GET /api/temperature/events/<id> sends (history, then live). */
@MultiplexStream()
export class TemperatureStreamKind implements StreamKind {
  readonly prefix = 'temperature';
  readonly pattern = 'temperature:<entity id>';
  readonly access = ENTITY_STREAM_ACCESS;
  readonly maxDurationSetting = ENTITY_STREAM_MAX_DURATION_SETTING;

  constructor(private readonly temperature: TemperatureService) {}

  parse(parameter: string | undefined): ParsedParameter {
    return parameterByDto(EntityIdParamDto, 'id', parameter);
  }

  open(entityId: string, lastEventId?: string): Observable<SseItem> {
    return this.temperature.stream(entityId, lastEventId);
  }
}
