import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsArray, IsOptional, IsString, MaxLength } from 'class-validator';
import { Transform } from 'class-transformer';
import { MAX_COMPOSITE_ID_LENGTH } from '../composite-event-id';
import { AccessTokenQueryDto } from '../../sse/sse-query.dto';
import { MAX_STREAMS } from '../stream-catalog';

/** Query of `GET /sse`. The names are checked by StreamsGuard, which names any it refuses. */
export class MultiplexQueryDto extends AccessTokenQueryDto {
  @ApiProperty({
    description: `A stream to carry; repeat for each (1-${MAX_STREAMS}): \`v2:<username>\`, \`v3:<username>\`, \`broadcast\`, \`reports:<user uuid>\`, \`temperature:<entity id>\`, \`kafka:<topic>[:<key>]\` (a topic listed in KAFKA_SSE_TOPICS)`,
    type: [String],
    example: ['broadcast', 'reports:6f1c1c52-2e55-4a52-9d1c-5b0d7c9a3f10'],
  })
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? [value] : value))
  @IsArray()
  @IsString({ each: true })
  stream: string[];

  @ApiPropertyOptional({
    description:
      'Resume after this (composite) event id, for clients that cannot send the Last-Event-ID header',
    maxLength: MAX_COMPOSITE_ID_LENGTH,
  })
  @IsOptional()
  @IsString()
  @MaxLength(MAX_COMPOSITE_ID_LENGTH)
  lastEventId?: string;
}
