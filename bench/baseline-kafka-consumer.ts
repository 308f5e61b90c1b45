/**
 * Plain node:http SSE server fed by a kafkajs consumer: the ceiling of the kafka-ingest scenario
 * (bench/scenarios/kafka-ingest.ts), i.e. the gateway's v3 work done the simplest honest way.
 *
 * One consumer in a consumer group of its own (kafkajs defaults, as a plain consumer would be), from
 * the end of the topic; each `username:message` record of the batch is framed once
 * (`id: <partition>-<offset>`, one `data:` line per line of the message) and written with
 * `res.write()` to every open stream of that user. No history, no resume, no auth, no limits, no
 * heartbeats, no metrics, no validation beyond the colon.
 *
 *   GET /v3/sse?username=NAME   that user's stream (retry block, then the user's records)
 *   GET /health                 200 {"status":"ok"}
 *   GET /health/ready           200 once the consumer joined its group, 503 before
 *
 * Env: PORT (3000), HOST (127.0.0.1), KAFKA_BROKERS (127.0.0.1:9092), KAFKA_TOPIC (v3_messages).
 * The topic is created (one partition, as the gateway's default) when it is missing.
 */
import { Kafka, logLevel } from 'kafkajs';

import { frame, listen, reply, routedServer, UserStreams } from './lib/baseline-sse';

const topic = process.env.KAFKA_TOPIC ?? 'v3_messages';
const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const userClients = new UserStreams();
let joined = false;

const server = routedServer({
  'GET /health/ready': (_req, res) => reply(res, joined ? 200 : 503, { status: joined ? 'ok' : 'starting' }),
  'GET /v3/sse': userClients.open,
});

const kafka = new Kafka({ clientId: 'baseline-kafka-consumer', brokers, logLevel: logLevel.WARN });
const consumer = kafka.consumer({ groupId: `baseline-kafka-consumer-${process.pid}-${Date.now()}` });

async function startConsumer(): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  if (!(await admin.listTopics()).includes(topic)) {
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 1 }] });
  }
  await admin.disconnect();
  consumer.on(consumer.events.GROUP_JOIN, () => {
    joined = true;
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: false });
  await consumer.run({
    eachBatch: async ({ batch }) => {
      for (const message of batch.messages) {
        const value = message.value?.toString('utf8') ?? '';
        const colon = value.indexOf(':');
        const set = colon > 0 ? userClients.of(value.slice(0, colon)) : undefined;
        if (set) {
          const f = frame(`${batch.partition}-${message.offset}`, value.slice(colon + 1));
          for (const client of set) {
            client.write(f);
          }
        }
      }
      return Promise.resolve();
    },
  });
}

function shutdown(): void {
  userClients.endAll();
  server.close();
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 3000).unref();
  void consumer.disconnect().finally(() => process.exit(0));
}

process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);

listen(server, 'baseline-kafka-consumer', { topic });
startConsumer().catch((err: unknown) => {
  process.stderr.write(`baseline kafka consumer failed: ${String(err)}\n`);
  process.exit(1);
});
