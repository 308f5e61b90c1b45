import { Kafka } from 'kafkajs';
import { KafkaTopics } from './kafka-topics';

describe(KafkaTopics.name, () => {
  const setUp = (existing: string[]) => {
    const admin = {
      connect: jest.fn(() => Promise.resolve()),
      disconnect: jest.fn(() => Promise.resolve()),
      listTopics: jest.fn(() => Promise.resolve(existing)),
      createTopics: jest.fn(() => Promise.resolve(true)),
      fetchTopicOffsets: jest.fn(() =>
        Promise.resolve([
          { partition: 0, offset: '9', low: '3', high: '9' },
          { partition: 1, offset: '0', low: '0', high: '0' },
        ]),
      ),
      describeCluster: jest.fn(() => Promise.resolve({ brokers: [], controller: null, clusterId: 'c' })),
    };
    const logger = { log: jest.fn() };
    const kafka = { admin: () => admin } as unknown as Kafka;
    const sut = new KafkaTopics(kafka, { partitions: 3, replicationFactor: 1 }, logger);
    return { sut, admin, logger };
  };

  afterEach(() => jest.useRealTimers());

  it('creates only the topics that are missing, once each, with the configured layout', async () => {
    const { sut, admin, logger } = setUp(['a']);
    await sut.createMissing(['a', 'b', 'c', 'b']);
    expect(admin.createTopics).toHaveBeenCalledWith({
      waitForLeaders: true,
      topics: [
        { topic: 'b', numPartitions: 3, replicationFactor: 1 },
        { topic: 'c', numPartitions: 3, replicationFactor: 1 },
      ],
    });
    expect(logger.log).toHaveBeenCalledWith('Created Kafka topics: b, c');
  });

  it('creates nothing when every topic exists', async () => {
    const { sut, admin, logger } = setUp(['a', 'b']);
    await sut.createMissing(['b', 'a']);
    expect(admin.createTopics).not.toHaveBeenCalled();
    expect(logger.log).not.toHaveBeenCalled();
  });

  it('gives the start and end of each partition as numbers', async () => {
    const { sut } = setUp([]);
    const expected = [
      { partition: 0, low: 3, high: 9 },
      { partition: 1, low: 0, high: 0 },
    ];
    await expect(sut.offsets('a')).resolves.toEqual(expected);
    await expect(sut.endOffsets('a')).resolves.toEqual(expected);
  });

  it('fails an end-offsets request or a ping the broker does not answer in time', async () => {
    jest.useFakeTimers();
    const { sut, admin } = setUp([]);
    admin.fetchTopicOffsets.mockReturnValue(new Promise(() => {}));
    admin.describeCluster.mockReturnValue(new Promise(() => {}));
    const ends = expect(sut.endOffsets('a')).rejects.toThrow(
      'Kafka did not answer an offsets request within 2500 ms',
    );
    const ping = expect(sut.ping()).rejects.toThrow('Kafka did not answer a metadata request within 2500 ms');
    await jest.advanceTimersByTimeAsync(2_500);
    await ends;
    await ping;
  });

  it('passes on a failed ping', async () => {
    const { sut, admin } = setUp([]);
    admin.describeCluster.mockRejectedValue(new Error('connection refused'));
    await expect(sut.ping()).rejects.toThrow('connection refused');
  });
});
