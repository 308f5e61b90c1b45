import { BadRequestException, createParamDecorator, ExecutionContext } from '@nestjs/common';
import { Request } from 'express';

export const MAX_EVENT_ID_LENGTH = 256;

/**
 * The id of the last event the client saw: the `Last-Event-ID` header that EventSource sends on
 * reconnect, or a `lastEventId` query parameter for clients that cannot set headers. At most
 * MAX_EVENT_ID_LENGTH characters unless the route says otherwise (`@LastEventId(4096)`).
 */
export const LastEventId = createParamDecorator(
  (maxLength: number | undefined, context: ExecutionContext): string | undefined => {
    const limit = maxLength ?? MAX_EVENT_ID_LENGTH;
    const request = context.switchToHttp().getRequest<Request>();
    const header = request.headers['last-event-id'];
    const query: unknown = request.query?.lastEventId;
    const value = typeof header === 'string' && header !== '' ? header : query;
    if (value === undefined || value === '') {
      return undefined;
    }
    if (typeof value !== 'string' || value.length > limit || /\p{Cc}/u.test(value)) {
      throw new BadRequestException(
        `Last-Event-ID (header or lastEventId query parameter) must be one string of at most ${limit} printable characters`,
      );
    }
    return value;
  },
);
