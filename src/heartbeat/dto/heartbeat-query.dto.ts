import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional } from 'class-validator';
import { IsUsername } from '../../common/validation/is-username.decorator';
import { SseQueryDto } from '../../sse/sse-query.dto';

export class HeartbeatQueryDto extends SseQueryDto {
  @ApiPropertyOptional({ description: 'Who listens (counts towards their stream cap)', example: 'demo' })
  @IsOptional()
  @IsUsername()
  username?: string;
}
