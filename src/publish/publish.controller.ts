import {
  Controller,
  createParamDecorator,
  ExecutionContext,
  Post,
  UnsupportedMediaTypeException,
} from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBody,
  ApiConsumes,
  ApiCreatedResponse,
  ApiOperation,
  ApiPayloadTooLargeResponse,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiUnsupportedMediaTypeResponse,
} from '@nestjs/swagger';
import { Request } from 'express';
import { Access } from '../auth/access.decorator';
import { hasUnreadBody } from '../common/http/body-parsers';
import { PublishedBatchDto, PublishItemDto } from './dto/publish-item.dto';
import { MAX_PUBLISH_ITEMS } from './publish.constants';
import { PublishService } from './publish.service';

/** The parsed body, checked item by item by PublishService; a media type no parser reads is a 415. */
const BatchBody = createParamDecorator((_: unknown, context: ExecutionContext): unknown => {
  const request = context.switchToHttp().getRequest<Request>();
  if (hasUnreadBody(request)) {
    throw new UnsupportedMediaTypeException(
      `Content-Type ${request.headers['content-type'] ?? '(none)'} is not accepted; send application/json`,
    );
  }
  return request.body as unknown;
});

@ApiTags('publish: many messages per request')
@Controller('publish')
export class PublishController {
  constructor(private readonly publisher: PublishService) {}

  @Access({ kind: 'publisher' })
  @Post()
  @ApiOperation({
    summary: `Publish up to ${MAX_PUBLISH_ITEMS} messages, each to its stream, all or none`,
    description:
      'Each item goes to its stream as its single route would send it (v2 as POST /v2/message, v3 as POST /v3/message, broadcast as POST /events, kafka as POST /kafka/<topic>); the items of one stream keep the order of the array. Every item is checked before any is published. Answers once the bus holds all of them (on Kafka: one transaction, acknowledged by every in-sync replica).',
  })
  @ApiConsumes('application/json')
  @ApiBody({
    type: [PublishItemDto],
    examples: {
      batch: {
        summary: 'Three streams in one request',
        value: [
          { stream: 'v2:alice', data: 'Howdy 🤠' },
          { stream: 'v2:bob', data: { order: 42, status: 'shipped' } },
          { stream: 'broadcast', data: 'maintenance at 18:00' },
        ],
      },
    },
  })
  @ApiCreatedResponse({ type: PublishedBatchDto, description: 'The event id of each item, in order' })
  @ApiBadRequestResponse({
    description:
      'An item is malformed (the message names its index and field: `[3].stream: …`), names an unknown stream or a domain stream (reports:, temperature:); nothing was published',
  })
  @ApiPayloadTooLargeResponse({
    description: `Over ${MAX_PUBLISH_ITEMS} items, over BODY_LIMIT_BYTES, or an item too large to fit a stream (SSE_MAX_BUFFER_BYTES); nothing was published`,
  })
  @ApiServiceUnavailableResponse({
    description:
      'Kafka did not take the batch in time (Retry-After says when to retry); none of it is delivered',
  })
  @ApiUnsupportedMediaTypeResponse({ description: 'Not JSON' })
  publish(@BatchBody() body: unknown): Promise<PublishedBatchDto> {
    return this.publisher.publish(body);
  }
}
