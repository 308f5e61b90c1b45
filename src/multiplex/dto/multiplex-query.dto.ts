import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsArray, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { Transform } from 'class-transformer';
import { MAX_COMPOSITE_ID_LENGTH } from '../multiplexer';
import { MAX_EVENT_ID_LENGTH } from '../../sse/topic-event-stream';
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

  @ApiPropertyOptional({
    description:
      'Where each stream resumes when the list of streams changed (so a composite id of the old list does not apply): ' +
      "repeat once per `stream`, in the same order, each the id the stream's own route gave its last event seen, " +
      'empty for a stream that starts afresh. Each is checked as that route checks Last-Event-ID: one no longer retained, ' +
      "from another run or ahead of the stream gets the stream's `history-gap` notice. Ignored when Last-Event-ID " +
      '(or lastEventId) is an id of this same list of streams: that id is newer.',
    type: [String],
    example: ['mwwj113o-41', ''],
  })
  @IsOptional()
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? [value] : value))
  @IsArray()
  @IsString({ each: true })
  @MaxLength(MAX_EVENT_ID_LENGTH, { each: true })
  @Matches(/^\P{Cc}*$/u, {
    each: true,
    message: 'each position must be printable characters (no control characters)',
  })
  position?: string[];
}
