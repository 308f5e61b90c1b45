import {
  applyDecorators,
  BadRequestException,
  createParamDecorator,
  ExecutionContext,
  UnsupportedMediaTypeException,
} from '@nestjs/common';
import { ApiBody, ApiConsumes } from '@nestjs/swagger';
import { Request } from 'express';
import { hasUnreadBody } from '../common/http/body-parsers';

const ACCEPTED =
  'send text/plain or application/x-www-form-urlencoded (the body is the value, byte for byte) or application/json (the JSON is the value)';

/**
 * The value of a record to publish, from the request body: a text body (text/plain, or the raw
 * form body `curl -d` sends) is the value byte for byte; a JSON body (an object or an array) is
 * the value as compact JSON, so that readers of the topic get JSON. Size and depth are bounded by
 * the body parsers (BODY_LIMIT_BYTES: 413; BODY_JSON_MAX_DEPTH: 400).
 */
export const RecordValue = createParamDecorator((_: unknown, context: ExecutionContext): string => {
  const request = context.switchToHttp().getRequest<Request>();
  const body: unknown = request.body;
  if (typeof body === 'string') {
    if (body.length === 0) {
      throw new BadRequestException(`The body is empty: it is the record's value; ${ACCEPTED}`);
    }
    return body;
  }
  if (typeof body === 'object' && body !== null) {
    return JSON.stringify(body);
  }
  if (hasUnreadBody(request)) {
    throw new UnsupportedMediaTypeException(
      `Content-Type ${request.headers['content-type'] ?? '(none)'} is not accepted; ${ACCEPTED}`,
    );
  }
  throw new BadRequestException(`The body is empty: it is the record's value; ${ACCEPTED}`);
});

/** Documents what @RecordValue() accepts. */
export const ApiRecordValue = (): MethodDecorator =>
  applyDecorators(
    ApiConsumes('text/plain', 'application/json', 'application/x-www-form-urlencoded'),
    ApiBody({
      description:
        "The record's value: a text body byte for byte, or a JSON object or array (published as compact JSON)",
      schema: { type: 'string', example: '{"page":"/pricing","ms":182}' },
      examples: {
        json: { summary: 'JSON (application/json)', value: { page: '/pricing', ms: 182 } },
        text: { summary: 'Text (text/plain), line breaks kept', value: 'first line\nsecond line' },
      },
    }),
  );
