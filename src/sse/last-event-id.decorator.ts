import { BadRequestException, createParamDecorator, ExecutionContext } from '@nestjs/common';
import { Request } from 'express';

export const MAX_EVENT_ID_LENGTH = 256;

/**
 * The id of the last event the client saw: the `Last-Event-ID` header that EventSource sends on
 * reconnect, or a `lastEventId` query parameter for clients that cannot set headers.
 */
export const LastEventId = createParamDecorator(
  (_: unknown, context: ExecutionContext): string | undefined => {
    const request = context.switchToHttp().getRequest<Request>();
    const header = request.headers['last-event-id'];
    const query: unknown = request.query?.lastEventId;
    const value = typeof header === 'string' && header !== '' ? header : query;
    if (value === undefined || value === '') {
      return undefined;
    }
    if (typeof value !== 'string' || value.length > MAX_EVENT_ID_LENGTH || /\p{Cc}/u.test(value)) {
      throw new BadRequestException(
        `Last-Event-ID (header or lastEventId query parameter) must be one string of at most ${MAX_EVENT_ID_LENGTH} printable characters`,
      );
    }
    return value;
  },
);
