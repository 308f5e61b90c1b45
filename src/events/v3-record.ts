import { ParsedRecord } from '../bus/message-bus.interface';
import { MAX_USERNAME_LENGTH } from '../common/validation/is-username.decorator';

/**
 * Records of the v3 topic are `username:message`, split at the first colon, whoever wrote them
 * (this service, `kcat`, `kafka-console-producer`). The user is the routing key.
 */
export function parseV3Record(value: string): ParsedRecord {
  const colon = value.indexOf(':');
  if (colon < 0) {
    return { error: 'no colon between user name and message (expected username:message)' };
  }
  const username = value.slice(0, colon);
  if (username.length === 0) {
    return { error: 'empty user name (expected username:message)' };
  }
  if (username.length > MAX_USERNAME_LENGTH || /\p{Cc}/u.test(username)) {
    return {
      error: `user name is not a valid user name (1-${MAX_USERNAME_LENGTH} characters, no control characters)`,
    };
  }
  return { key: username };
}

export const v3RecordOf = (username: string, message: string): string => `${username}:${message}`;

/** The message part of a record that parseV3Record accepted. */
export const v3MessageOf = (value: string): string => value.slice(value.indexOf(':') + 1);
