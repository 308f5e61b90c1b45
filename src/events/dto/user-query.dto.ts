import { IsUsername } from '../../common/validation/is-username.decorator';
import { SseQueryDto } from '../../sse/sse-query.dto';

export class UserQueryDto {
  @IsUsername()
  username: string;
}

export class UserStreamQueryDto extends SseQueryDto {
  @IsUsername()
  username: string;
}
