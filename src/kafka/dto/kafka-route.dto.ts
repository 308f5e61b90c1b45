import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, Length, Matches } from 'class-validator';
import { SseQueryDto } from '../../sse/sse-query.dto';
import { MAX_RECORD_KEY_LENGTH } from '../kafka.constants';

/** `?key=`: one Kafka record key, given at most once (a repeated one arrives as a list: 400). */
const RecordKey = (description: string): PropertyDecorator =>
  applyDecorators(
    ApiPropertyOptional({ description, example: 'sensor-1', maxLength: MAX_RECORD_KEY_LENGTH }),
    IsOptional(),
    IsString({ message: '$property must be one string: give ?key= at most once' }),
    Length(1, MAX_RECORD_KEY_LENGTH, {
      message: `$property must be 1-${MAX_RECORD_KEY_LENGTH} characters`,
    }),
    Matches(/^\P{Cc}*$/u, { message: '$property must not contain control characters' }),
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
