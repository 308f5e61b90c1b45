import { ApiProperty } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsUUID } from 'class-validator';
import { SseQueryDto } from '../../sse/sse-query.dto';

const USER_ID = {
  description: "The user's UUID, in any letter case (the service uses it in lower case)",
  example: '6f1c1c52-2e55-4a52-9d1c-5b0d7c9a3f10',
};

/**
 * A UUID names the same user or report in any letter case: the store keeps them in lower case, so
 * that is the form used everywhere, for routing live events and for the per-user stream cap too.
 */
export const toLowerCaseUuid = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' ? value.toLowerCase() : value;

export class UserIdQueryDto {
  @ApiProperty(USER_ID)
  @Transform(toLowerCaseUuid)
  @IsUUID('all', { message: '$property must be a UUID' })
  user_id: string;
}

export class UserIdStreamQueryDto extends SseQueryDto {
  @ApiProperty(USER_ID)
  @Transform(toLowerCaseUuid)
  @IsUUID('all', { message: '$property must be a UUID' })
  user_id: string;
}
