import { NotContains } from 'class-validator';
import { IsUsername } from '../../common/validation/is-username.decorator';
import { SseQueryDto } from '../../sse/sse-query.dto';

// v3 records are `username:message` split at the first colon, so a v3 user name has no colon.
const NO_COLON = { message: '$property must not contain ":" (v3 records are username:message)' };

export class V3UserQueryDto {
  @IsUsername()
  @NotContains(':', NO_COLON)
  username: string;
}

export class V3UserStreamQueryDto extends SseQueryDto {
  @IsUsername()
  @NotContains(':', NO_COLON)
  username: string;
}
