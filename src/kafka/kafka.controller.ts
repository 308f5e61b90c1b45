import { Controller, Param, Post, Query, Sse } from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiOperation,
  ApiPayloadTooLargeResponse,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiUnsupportedMediaTypeResponse,
} from '@nestjs/swagger';
import { Observable } from 'rxjs';
import { Access } from '../auth/access.decorator';
import { PublishedMessageDto } from '../common/http/publish-message.dto';
import { ApiSseStream } from '../sse/api-sse-stream.decorator';
import { LastEventId } from '../sse/topic-event-stream';
import { SseItem } from '../sse/sse-replay';
import { SseRoute } from '../sse/sse-route.decorator';
import { KafkaPublishQueryDto, KafkaStreamQueryDto, KafkaTopicParamDto } from './dto/kafka-route.dto';
import { KAFKA_TOPIC_STREAM_ACCESS } from './kafka.constants';
import { ApiRecordValue, RecordValue } from './kafka-record-value.decorator';
import { KafkaTopicStreams } from './kafka-topic-streams';

@ApiTags('kafka: topics of other producers (KAFKA_SSE_TOPICS)')
@ApiNotFoundResponse({ description: 'The topic is not listed in KAFKA_SSE_TOPICS' })
@Controller('kafka')
export class KafkaController {
  constructor(private readonly topics: KafkaTopicStreams) {}

  @Access(KAFKA_TOPIC_STREAM_ACCESS)
  @Sse(':topic/sse')
  @SseRoute({
    stream: 'kafka',
    keepAlive: { comment: 'keep-alive', intervalSetting: 'KAFKA_SSE_KEEPALIVE_MS' },
  })
  @ApiOperation({
    summary:
      'The records of a Kafka topic listed in KAFKA_SSE_TOPICS, from any producer, as Server-Sent Events: the value as data (multi-line values as several data: lines), the position as id; resumes after Last-Event-ID on any instance',
  })
  @ApiSseStream(
    'Each record of the topic (of the key, with ?key=) written from now on',
    'id: 17\ndata: {"page":"/pricing","ms":182}\n\nid: 18\ndata: first line\ndata: second line\n\n',
  )
  stream(
    @Param() params: KafkaTopicParamDto,
    @Query() query: KafkaStreamQueryDto,
    @LastEventId() lastEventId?: string,
  ): Observable<SseItem> {
    return this.topics.events(params.topic, { key: query.key, lastEventId });
  }

  @Access({ kind: 'publisher' })
  @Post(':topic')
  @ApiOperation({
    summary:
      'Write one record to a Kafka topic listed in KAFKA_SSE_TOPICS; answers once Kafka (or the in-memory bus) acknowledged it',
  })
  @ApiRecordValue()
  @ApiCreatedResponse({ type: PublishedMessageDto, description: "The record's position: its event id" })
  @ApiPayloadTooLargeResponse({
    description: 'Over BODY_LIMIT_BYTES, or too large to fit a stream (SSE_MAX_BUFFER_BYTES)',
  })
  @ApiUnsupportedMediaTypeResponse({ description: 'Neither text nor JSON' })
  @ApiServiceUnavailableResponse({ description: 'Kafka did not acknowledge the record in time' })
  publish(
    @Param() params: KafkaTopicParamDto,
    @Query() query: KafkaPublishQueryDto,
    @RecordValue() value: string,
  ): Promise<PublishedMessageDto> {
    return this.topics.publish(params.topic, query.key, value);
  }
}
