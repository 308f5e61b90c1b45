import { KAFKA_SSE_TOPICS_SETTING } from './kafka.constants';

/** A topic that KAFKA_SSE_TOPICS does not list: as if it did not exist (404). */
export class KafkaTopicNotAllowedError extends Error {
  constructor(readonly topic: string) {
    super(
      `Kafka topic ${JSON.stringify(topic.slice(0, 300))} is not served here: it is not listed in ${KAFKA_SSE_TOPICS_SETTING}`,
    );
    this.name = KafkaTopicNotAllowedError.name;
  }
}
