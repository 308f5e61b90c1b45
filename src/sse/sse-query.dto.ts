import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';
import { MAX_EVENT_ID_LENGTH } from './last-event-id.decorator';

/** Query parameters every stream accepts. */
export class SseQueryDto {
  @ApiPropertyOptional({
    description: 'Resume after this event id, for clients that cannot send the Last-Event-ID header',
    maxLength: MAX_EVENT_ID_LENGTH,
  })
  @IsOptional()
  @IsString()
  @MaxLength(MAX_EVENT_ID_LENGTH)
  lastEventId?: string;

  @ApiPropertyOptional({
    description:
      'AUTH_MODE=jwt: the token, for clients that cannot set the Authorization header (EventSource); never logged',
  })
  @IsOptional()
  @IsString()
  @MaxLength(8192)
  access_token?: string;
}
