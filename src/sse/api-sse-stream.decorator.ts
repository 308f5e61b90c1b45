import { applyDecorators } from '@nestjs/common';
import { ApiOkResponse, ApiProduces } from '@nestjs/swagger';

/** Documents an `@Sse()` route: a text/event-stream response, with what its events look like. */
export const ApiSseStream = (description: string, example: string): MethodDecorator =>
  applyDecorators(
    ApiProduces('text/event-stream'),
    ApiOkResponse({
      description: `${description}. Starts with a \`retry:\` hint; every event has an \`id:\`; send it back as Last-Event-ID (or ?lastEventId=) to resume.`,
      content: { 'text/event-stream': { schema: { type: 'string', example } } },
    }),
  );
