import { Module } from '@nestjs/common';
import { KafkaController } from './kafka.controller';
import { KafkaStreamKind } from './kafka-stream.kind';
import { KafkaTopicStreams } from './kafka-topic-streams';

/**
 * Kafka topics of other producers, listed in KAFKA_SSE_TOPICS, as browser streams and publish
 * routes. KafkaTopicStreams is exported for other routes that stream these topics.
 */
@Module({
  controllers: [KafkaController],
  providers: [KafkaTopicStreams, KafkaStreamKind],
  exports: [KafkaTopicStreams],
})
export class KafkaModule {}
