import { Logger } from '@nestjs/common';
import { createServer } from 'node:net';
import { Registry } from 'prom-client';
import { BusUnavailableError, UndeclaredTopicError } from '../bus.errors';
import { KafkaMessageBus } from './kafka-message-bus';

/**
 * What the bus promises whatever the broker does: it needs a real broker only to deliver, and the e2e
 * specs run it against one. Here kafkajs talks to a port that hangs up on every connection, as a broker
 * that is down does, and counts them.
 */
async function hangingUpBroker(): Promise<{
  address: string;
  connections: () => number;
  stop: () => Promise<void>;
}> {
  let connections = 0;
  const server = createServer((socket) => {
    connections++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    address: `127.0.0.1:${port}`,
    connections: () => connections,
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe(KafkaMessageBus.name, () => {
  let broker: string;
  let stopBroker: () => Promise<void>;
  let connections: () => number;
  let sut: KafkaMessageBus;
  /** The bus's own warnings (kafkajs logs through the same Logger, with its own prefix). */
  let warnings: () => string[];

  beforeEach(async () => {
    ({ address: broker, connections, stop: stopBroker } = await hangingUpBroker());
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    warnings = () =>
      warn.mock.calls.map(([message]) => String(message)).filter((m) => m.startsWith('Kafka '));
    jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    sut = new KafkaMessageBus(
      {
        brokers: [broker],
        clientId: 'gw',
        publishTimeoutMs: 5_000,
        partitions: 1,
        replicationFactor: 1,
        historySize: 100,
        historyBytes: 1_000_000,
      },
      new Registry(),
    );
    sut.declareTopic('t');
  });

  /** kafkajs retries a connection a few times (about 3.5 s here) before the bus's first attempt fails. */
  const firstAttemptFailed = async () => {
    for (let waited = 0; warnings().length === 0 && waited < 15_000; waited += 50) {
      await sleep(50);
    }
  };

  afterEach(async () => {
    await sut.close();
    await stopBroker();
    jest.restoreAllMocks();
  });

  it('starts without a broker, says in its health why it is not ready, and stops retrying once closed', async () => {
    sut.handleCommands('commands', 'workers', () => Promise.resolve());

    sut.start(); // returns at once: the service serves meanwhile
    await firstAttemptFailed();

    expect(warnings()).toEqual([
      expect.stringMatching(
        new RegExp(`^Kafka not reachable \\(${broker}\\), attempt 1: .+; retrying in 500 ms$`),
      ),
    ]);
    expect(sut.health()).toEqual({
      up: false,
      details: {
        kind: 'kafka',
        brokers: broker,
        reachable: false,
        producer: 'disconnected',
        consumer: 'not joined',
        commandConsumers: '0/1 joined',
        catchingUp: ['t'],
        lastError: expect.any(String),
      },
    });

    await sut.close();
    const tried = connections();
    await sleep(1_000); // past the retry's delay

    expect(tried).toBeGreaterThan(0);
    expect(connections()).toBe(tried);
  }, 20_000);

  it('refuses a publish at once, as unavailable, while it has no connection to Kafka', async () => {
    const asked = Date.now();

    const refusal = sut.publish('t', 'k', 'v');

    await expect(refusal).rejects.toThrow(BusUnavailableError);
    await expect(refusal).rejects.toThrow(`Kafka is not reachable (${broker}); the message was not sent`);
    expect(Date.now() - asked).toBeLessThan(1_000); // not after the 5 s publish timeout
  });

  it('refuses a publish to a topic no feature declared', async () => {
    await expect(sut.publish('nobody-declared-this', null, 'v')).rejects.toThrow(UndeclaredTopicError);
  });

  it('takes topics and command handlers only before it starts; a topic declared again is no change', async () => {
    sut.start();

    expect(() => sut.declareTopic('t')).not.toThrow();
    expect(() => sut.declareTopic('late')).toThrow('Topic late was declared after the Kafka bus started');
    expect(() => sut.handleCommands('late-commands', 'workers', () => Promise.resolve())).toThrow(
      'Commands of late-commands were registered after the Kafka bus started',
    );
    await firstAttemptFailed(); // closed while kafkajs still retries, it would outlive the test
  }, 20_000);
});
