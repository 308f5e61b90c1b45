import { ApiProperty } from '@nestjs/swagger';
import { IsUUID } from 'class-validator';
import { SseQueryDto } from '../../sse/sse-query.dto';

const USER_ID = { description: "The user's UUID", example: '6f1c1c52-2e55-4a52-9d1c-5b0d7c9a3f10' };

export class UserIdQueryDto {
  @ApiProperty(USER_ID)
  @IsUUID('all', { message: '$property must be a UUID' })
  user_id: string;
}

export class UserIdStreamQueryDto extends SseQueryDto {
  @ApiProperty(USER_ID)
  @IsUUID('all', { message: '$property must be a UUID' })
  user_id: string;
}
