import {
  applyDecorators,
  createParamDecorator,
  ExecutionContext,
  UnsupportedMediaTypeException,
} from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiCreatedResponse } from '@nestjs/swagger';
import { Request } from 'express';
import { hasUnreadBody } from './body-parsers';
import { PublishedMessageDto, PublishMessageDto } from './publish-message.dto';

/**
 * The body of a publish, as an object for the DTO: a text body (text/plain, or the raw form body
 * `curl -d` sends) is the message itself, byte for byte; a JSON body is taken as it is.
 * Validated like any body when the global ValidationPipe validates custom decorators.
 */
export const MessageBody = createParamDecorator((_: unknown, context: ExecutionContext): unknown => {
  const request = context.switchToHttp().getRequest<Request>();
  const body: unknown = request.body;
  if (typeof body === 'string') {
    return { message: body };
  }
  if (hasUnreadBody(request)) {
    throw new UnsupportedMediaTypeException(
      `Content-Type ${request.headers['content-type'] ?? '(none)'} is not accepted; send text/plain, application/x-www-form-urlencoded or application/json`,
    );
  }
  return body ?? {};
});

/** Documents what @MessageBody() accepts, and the answer of a publish. */
export const ApiMessageBody = (): MethodDecorator =>
  applyDecorators(
    ApiConsumes('text/plain', 'application/x-www-form-urlencoded', 'application/json'),
    ApiBody({
      type: PublishMessageDto,
      description: 'The raw text body is the message; JSON takes {"message"}',
    }),
    ApiCreatedResponse({ type: PublishedMessageDto }),
  );
