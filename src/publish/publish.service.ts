import {
  BadRequestException,
  HttpException,
  Inject,
  Injectable,
  PayloadTooLargeException,
} from '@nestjs/common';
import { BROADCAST_TOPIC } from '../broadcaster/broadcaster.constants';
import { MESSAGE_BUS } from '../bus/bus.constants';
import { MessageBus, OutgoingRecord } from '../bus/message-bus.interface';
import { USER_MESSAGES_TOPIC, V3_MESSAGES_TOPIC } from '../events/events.constants';
import { v3RecordOf } from '../events/v3-record';
import { RequestedStream, StreamCatalog } from '../multiplex/stream-catalog';
import { EventTooLargeError } from '../sse/sse.errors';
import { StreamFit } from '../sse/stream-fit';
import { DOMAIN_STREAM_ROUTES, MAX_PUBLISH_ITEMS } from './publish.constants';

const ITEM_FIELDS = new Set(['stream', 'data']);
const SHAPE = 'The body is a JSON array of {"stream": "<name>", "data": <text or any JSON value>} items';

/**
 * Many messages in one request, each to its stream: every item is checked first (a 400 naming its
 * index and field, and nothing is published), then all go to the bus in one batch, which holds all
 * of them or none. Each item becomes the record its stream's single route would publish, so its
 * streams frame it the same way.
 */
@Injectable()
export class PublishService {
  constructor(
    @Inject(MESSAGE_BUS) private readonly bus: MessageBus,
    private readonly catalog: StreamCatalog,
    private readonly fit: StreamFit,
  ) {}

  async publish(body: unknown): Promise<{ ids: string[] }> {
    const records = this.recordsOf(body);
    const stored = await this.bus.publishAll(records);
    return { ids: stored.map((record) => record.position) };
  }

  private recordsOf(body: unknown): OutgoingRecord[] {
    if (!Array.isArray(body)) {
      throw new BadRequestException(`${SHAPE}, sent as application/json`);
    }
    if (body.length === 0) {
      throw new BadRequestException(`${SHAPE}, with at least one item`);
    }
    if (body.length > MAX_PUBLISH_ITEMS) {
      throw new PayloadTooLargeException(
        `At most ${MAX_PUBLISH_ITEMS} items per request, ${body.length} were sent; split the batch`,
      );
    }
    return body.map((item: unknown, index) => this.recordOf(item, index));
  }

  private recordOf(item: unknown, index: number): OutgoingRecord {
    const at = `[${index}]`;
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      throw new BadRequestException(`${at} must be an object {"stream", "data"}`);
    }
    const extra = Object.keys(item).find((field) => !ITEM_FIELDS.has(field));
    if (extra !== undefined) {
      throw new BadRequestException(`${at}.${extra} is not a field of an item: items are {"stream", "data"}`);
    }
    const { stream: name, data } = item as { stream?: unknown; data?: unknown };
    if (typeof name !== 'string') {
      throw new BadRequestException(`${at}.stream must be a string: a stream name as in GET /sse`);
    }
    const stream = this.streamOf(name, at);
    if (data === undefined) {
      throw new BadRequestException(`${at}.data is missing: the text (or JSON value) to publish`);
    }
    // Readers of a stream get text: any other JSON value goes as its JSON text.
    const text = typeof data === 'string' ? data : JSON.stringify(data);
    if (text.length === 0) {
      throw new BadRequestException(`${at}.data must not be empty`);
    }
    const record = recordFor(stream, text);
    try {
      this.fit.assertFits(text, this.bus.head(record.topic).length);
    } catch (error) {
      throw error instanceof EventTooLargeError
        ? new EventTooLargeError(error.bytes, error.limit, `${at}.data`)
        : error;
    }
    return record;
  }

  private streamOf(name: string, at: string): RequestedStream {
    const prefix = name.split(':', 1)[0];
    const routes = DOMAIN_STREAM_ROUTES[prefix];
    if (routes !== undefined) {
      throw new BadRequestException(
        `${at}.stream ${JSON.stringify(name.slice(0, 200))} is a domain stream: its events are changes made through its own routes (${routes}), not published messages`,
      );
    }
    try {
      const [stream] = this.catalog.parse(name);
      return stream;
    } catch (error) {
      throw error instanceof HttpException ? withPrefix(error, `${at}.stream: `) : error;
    }
  }
}

/** The record the stream's single route publishes for `data`. */
function recordFor({ kind, parameter }: RequestedStream, data: string): OutgoingRecord {
  switch (kind.prefix) {
    case 'v2':
      return { topic: USER_MESSAGES_TOPIC, key: parameter, value: data };
    case 'v3':
      return { topic: V3_MESSAGES_TOPIC, key: parameter, value: v3RecordOf(parameter, data) };
    case 'broadcast':
      return { topic: BROADCAST_TOPIC, key: null, value: data };
    case 'kafka': {
      const colon = parameter.indexOf(':');
      return colon < 0
        ? { topic: parameter, key: null, value: data }
        : { topic: parameter.slice(0, colon), key: parameter.slice(colon + 1), value: data };
    }
    default:
      // A kind added to GET /sse without a way to publish to it here.
      throw new BadRequestException(`streams ${kind.pattern} cannot be published to by POST /publish`);
  }
}

function withPrefix(error: HttpException, prefix: string): HttpException {
  const response = error.getResponse();
  const message =
    typeof response === 'object' && response !== null && 'message' in response
      ? String(response.message)
      : error.message;
  return new HttpException(`${prefix}${message}`, error.getStatus());
}
