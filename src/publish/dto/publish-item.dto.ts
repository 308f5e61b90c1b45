import { ApiProperty } from '@nestjs/swagger';

/** One item of POST /publish: documents the body; PublishService checks it field by field. */
export class PublishItemDto {
  @ApiProperty({
    description:
      'A stream name as in GET /sse: v2:<username>, v3:<username>, broadcast or kafka:<topic>[:<key>] (a topic listed in KAFKA_SSE_TOPICS). reports: and temperature: streams change through their own routes only',
    example: 'v2:alice',
  })
  stream: string;

  @ApiProperty({
    description:
      "The event's data: a string as it is (line breaks kept), any other JSON value as its compact JSON text",
    oneOf: [
      { type: 'string' },
      { type: 'object' },
      { type: 'array' },
      { type: 'number' },
      { type: 'boolean' },
    ],
    example: 'Howdy 🤠',
  })
  data: unknown;
}

export class PublishedBatchDto {
  @ApiProperty({
    description: 'The event id of each item, in the order of the request',
    example: ['mwwj113o-7', 'mwwj113o-8', '0.42'],
    type: [String],
  })
  ids: string[];
}
