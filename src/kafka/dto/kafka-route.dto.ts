import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, ValidateBy } from 'class-validator';
import { SseQueryDto } from '../../sse/sse-query.dto';
import { MAX_RECORD_KEY_LENGTH } from '../kafka.constants';

/** What is wrong with a `?key=` value, in one message; undefined when it is a key. */
export function keyProblem(value: unknown): string | undefined {
  if (typeof value !== 'string') {
    return 'key must be one string: give ?key= at most once';
  }
  if (value.length < 1 || value.length > MAX_RECORD_KEY_LENGTH) {
    return `key must be 1-${MAX_RECORD_KEY_LENGTH} characters`;
  }
  return /\p{Cc}/u.test(value) ? 'key must not contain control characters' : undefined;
}

/** `?key=`: one Kafka record key, given at most once (a repeated one arrives as a list: 400). */
const RecordKey = (description: string): PropertyDecorator =>
  applyDecorators(
    ApiPropertyOptional({ description, example: 'sensor-1', maxLength: MAX_RECORD_KEY_LENGTH }),
    IsOptional(),
    ValidateBy({
      name: 'isRecordKey',
      validator: {
        validate: (value: unknown) => keyProblem(value) === undefined,
        defaultMessage: (args) => keyProblem(args?.value) ?? 'key is not valid',
      },
    }),
  );

export class KafkaTopicParamDto {
  @ApiProperty({
    description: 'A Kafka topic listed in KAFKA_SSE_TOPICS; any other is 404',
    example: 'clicks',
  })
  @IsString()
  topic: string;
}

export class KafkaPublishQueryDto {
  @RecordKey('The record key (Kafka partitions by it); none when absent')
  key?: string;
}

export class KafkaStreamQueryDto extends SseQueryDto {
  @RecordKey('Only records with this Kafka record key; every record of the topic when absent')
  key?: string;
}
