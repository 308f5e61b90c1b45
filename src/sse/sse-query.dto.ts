import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';
import { MAX_EVENT_ID_LENGTH } from './topic-event-stream';

/** `?access_token=`: every stream takes the token in its query too. */
export class AccessTokenQueryDto {
  @ApiPropertyOptional({
    description:
      'AUTH_MODE=jwt: the token, for clients that cannot set the Authorization header (EventSource); never logged',
  })
  @IsOptional()
  @IsString()
  @MaxLength(8192)
  access_token?: string;
}

/** Query parameters every single-stream route accepts. */
export class SseQueryDto extends AccessTokenQueryDto {
  @ApiPropertyOptional({
    description: 'Resume after this event id, for clients that cannot send the Last-Event-ID header',
    maxLength: MAX_EVENT_ID_LENGTH,
  })
  @IsOptional()
  @IsString()
  @MaxLength(MAX_EVENT_ID_LENGTH)
  lastEventId?: string;
}
