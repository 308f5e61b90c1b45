import { Observable } from 'rxjs';
import { MultiplexStream, ParsedParameter, StreamKind } from '../multiplex/stream-kind';
import { SseItem } from '../sse/sse-replay';
import { keyProblem } from './dto/kafka-route.dto';
import { KAFKA_SSE_TOPICS_SETTING, KAFKA_TOPIC_STREAM_ACCESS } from './kafka.constants';
import { KafkaTopicStreams } from './kafka-topic-streams';

/**
 * `kafka:<topic>` and `kafka:<topic>:<key>` in GET /sse: what GET /kafka/<topic>/sse(?key=<key>)
 * sends. Topic names cannot hold a colon, so the first one after the topic starts the key.
 */
@MultiplexStream()
export class KafkaStreamKind implements StreamKind {
  readonly prefix = 'kafka';
  readonly pattern = 'kafka:<topic>[:<key>]';
  readonly access = KAFKA_TOPIC_STREAM_ACCESS;

  constructor(private readonly topics: KafkaTopicStreams) {}

  parse(parameter: string | undefined): ParsedParameter {
    if (parameter === undefined || parameter === '') {
      return { error: 'it needs a topic after the colon' };
    }
    const { key } = splitParameter(parameter);
    const problem = key === undefined ? undefined : keyProblem(key);
    return problem === undefined ? { parameter } : { error: problem };
  }

  unknown(parameter: string): string | undefined {
    const { topic } = splitParameter(parameter);
    return this.topics.isAllowed(topic)
      ? undefined
      : `topic ${JSON.stringify(topic)} is not listed in ${KAFKA_SSE_TOPICS_SETTING}`;
  }

  /** The scope `kafka:<topic>` is per topic, whatever the key. */
  accessValue(parameter: string): string {
    return splitParameter(parameter).topic;
  }

  /** A record of the key is a record of the topic too. */
  parentOf(parameter: string): string | undefined {
    const { topic, key } = splitParameter(parameter);
    return key === undefined ? undefined : topic;
  }

  open(parameter: string, lastEventId?: string): Observable<SseItem> {
    const { topic, key } = splitParameter(parameter);
    return this.topics.events(topic, { key, lastEventId });
  }
}

function splitParameter(parameter: string): { topic: string; key?: string } {
  const colon = parameter.indexOf(':');
  return colon < 0
    ? { topic: parameter }
    : { topic: parameter.slice(0, colon), key: parameter.slice(colon + 1) };
}
