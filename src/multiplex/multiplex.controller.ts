import { BadRequestException, Controller, Query, Req, Sse, UseGuards } from '@nestjs/common';
import { ApiBadRequestResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Request } from 'express';
import { Observable } from 'rxjs';
import { Access } from '../auth/access.decorator';
import { ApiSseStream } from '../sse/api-sse-stream.decorator';
import { LastEventId, MAX_EVENT_ID_LENGTH } from '../sse/topic-event-stream';
import { SseItem } from '../sse/sse-replay';
import { SseRoute } from '../sse/sse-route.decorator';
import { MultiplexQueryDto } from './dto/multiplex-query.dto';
import { eventCopiesOf, MAX_COMPOSITE_ID_LENGTH, Multiplexer } from './multiplexer';
import {
  MAX_STREAMS,
  maxDurationSettingsOf,
  requestedStreams,
  StreamsGuard,
  userStreamsOf,
} from './stream-catalog';

const EXAMPLE = [
  'retry: 2000',
  '',
  ': stream open',
  '',
  'id: 1x2k9q,mwwj113o-0,41',
  'event: broadcast',
  'data: connected',
  '',
  'id: 1x2k9q,mwwj113o-0,42',
  'event: reports:6f1c1c52-2e55-4a52-9d1c-5b0d7c9a3f10.report_status_update',
  'data: {"id":"0b7e6c1e-4bd6-4c41-8d4f-3f5b1f3e2a77","status":"queued"}',
  '',
  'id: 1x2k9q,mwwj113o-1,42',
  'event: broadcast',
  'data: hello',
  '',
].join('\n');

@ApiTags('multiplex: several streams on one connection')
@Controller()
export class MultiplexController {
  constructor(private readonly multiplexer: Multiplexer) {}

  // Guards run in the order given: AccessGuard (from @Access) verifies the token, then every stream is checked.
  @UseGuards(StreamsGuard)
  @Access({ kind: 'subscriber' })
  @Sse('sse')
  @SseRoute({
    stream: 'multiplex',
    users: userStreamsOf,
    maxDurationSetting: maxDurationSettingsOf,
    eventCopies: (request) => eventCopiesOf(requestedStreams(request)),
    keepAlive: { comment: 'keep-alive', intervalSetting: 'EVENTS_KEEPALIVE_MS' },
  })
  @ApiOperation({
    summary: `Several streams on one connection: ?stream=<name>&stream=<name>… (up to ${MAX_STREAMS}); each carries what its own route sends`,
    description:
      "Each event's `event:` is its stream's name, followed by `.<type>` for typed events (`reports:<uuid>.report_status_update`, `<name>.history-gap`); " +
      "its data is what the stream's own route sends. The id is a composite position of every stream of the connection: " +
      'send it back as Last-Event-ID (on any instance) and each stream replays what it missed, or sends its own `history-gap` notice. ' +
      'When the list of streams changes, give each stream its position with `position` (one per `stream`, in order) instead. ' +
      'AUTH_MODE=jwt: every stream is checked as its own route checks it, and one the token does not give refuses the request (403 naming it), ' +
      'before what it names is looked at: without the scope, `kafka:<topic>` is a 403 whether or not the topic is listed.',
  })
  @ApiBadRequestResponse({
    description: `A stream name that is malformed, unknown (a topic not listed: only to a token with its scope, under AUTH_MODE=jwt) or repeated (named), or more than ${MAX_STREAMS}; \`position\` given but not once per \`stream\`, or one over ${MAX_EVENT_ID_LENGTH} characters`,
  })
  @ApiSseStream('The events of every stream named, under their names', EXAMPLE)
  stream(
    @Query() query: MultiplexQueryDto,
    @Req() request: Request,
    @LastEventId(MAX_COMPOSITE_ID_LENGTH) lastEventId?: string,
  ): Observable<SseItem> {
    const streams = requestedStreams(request);
    if (query.position !== undefined && query.position.length !== streams.length) {
      throw new BadRequestException(
        `position must be given once per stream, in the order of stream (${streams.length}), empty for a stream without one; ${query.position.length} were given`,
      );
    }
    return this.multiplexer.open(streams, lastEventId, query.position);
  }
}
