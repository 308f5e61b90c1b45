import { post, RunningApp, startApp, waitUntil } from './support/app';
import { SseReader } from './support/sse-reader';

jest.setTimeout(120_000);

const query = (names: string[]) => names.map((name) => `stream=${encodeURIComponent(name)}`).join('&');
const json = (text: string) => JSON.parse(text) as Record<string, unknown>;

/**
 * The largest message of `unit` repeated that `publish` takes: from a guess above it, one unit
 * less until the answer is 201. The answer just before was a 413, so one unit more is refused.
 */
async function largestAccepted(
  unit: string,
  guess: number,
  publish: (body: string) => Promise<{ status: number; text: string }>,
): Promise<{ body: string; refusedAbove: string }> {
  let previous: { status: number; text: string } | undefined;
  for (let count = guess; count > 0; count--) {
    const answer = await publish(unit.repeat(count));
    if (answer.status === 201) {
      expect(previous).toBeDefined(); // the guess was above the bound
      return { body: unit.repeat(count), refusedAbove: previous!.text };
    }
    expect(answer.status).toBe(413);
    previous = answer;
  }
  throw new Error(`nothing of ${JSON.stringify(unit)} was accepted`);
}

describe('GET /sse: an event that fits its own route fits every multiplexed connection carrying it', () => {
  const BOUND = 64 * 1024;
  const topic = `bounds-${Date.now().toString(36)}`;
  let running: RunningApp;

  beforeAll(async () => {
    running = await startApp({
      SSE_MAX_BUFFER_BYTES: String(BOUND),
      BODY_LIMIT_BYTES: String(1024 * 1024),
      KAFKA_SSE_TOPICS: topic,
    });
  });
  afterAll(() => running.close());

  it('delivers the largest accepted event on v2, /events and a kafka topic, intact, to multiplexed readers with the longest names and 20 streams', async () => {
    const { baseUrl } = running;
    // The longest names a connection may carry (200 characters, two bytes each where the kind allows
    // it), and 20 streams: the longest event: lines and composite ids.
    const user = 'é'.repeat(128);
    const key = 'é'.repeat(200 - `kafka:${topic}:`.length);
    const big = [`v2:${user}`, 'broadcast', `kafka:${topic}`, `kafka:${topic}:${key}`];
    const others = Array.from({ length: 20 - big.length }, (_, n) => `v2:${'o'.repeat(120)}-${n}`);
    const names = [...big, ...others];
    const multiplexed = await Promise.all(
      Array.from({ length: 5 }, () => SseReader.open(`${baseUrl}/sse?${query(names)}`)),
    );
    const single = await Promise.all([
      SseReader.open(`${baseUrl}/v2/sse?username=${encodeURIComponent(user)}`),
      SseReader.open(`${baseUrl}/events`),
      SseReader.open(`${baseUrl}/kafka/${topic}/sse?key=${encodeURIComponent(key)}`),
    ]);
    const readers = [...multiplexed, ...single];
    expect(readers.map((reader) => reader.status)).toEqual(readers.map(() => 200));
    await waitUntil(() => readers.every((reader) => reader.retry !== undefined), 'every stream is open');
    // Every position of the composite ids is set: they are as long as they get.
    const someone = `v2:${'o'.repeat(120)}-0`;
    for (const [path, name] of [
      ['/events', 'broadcast'],
      [`/kafka/${topic}`, `kafka:${topic}`],
      [`/v2/message?username=${encodeURIComponent(user)}`, big[0]],
      [`/v2/message?username=${encodeURIComponent(someone.slice(3))}`, someone],
    ]) {
      expect((await post(`${baseUrl}${path}`, 'first', 'text/plain')).status).toBe(201);
      await waitUntil(
        () => multiplexed.every((reader) => reader.events.some((event) => event.type === name)),
        `the first event of ${name}`,
      );
    }

    const routes: { path: string; unit: string; streams: string[] }[] = [
      { path: `/v2/message?username=${encodeURIComponent(user)}`, unit: '\n', streams: [big[0]] },
      { path: `/v2/message?username=${encodeURIComponent(user)}`, unit: 'x', streams: [big[0]] },
      { path: '/events', unit: '\n', streams: ['broadcast'] },
      { path: '/events', unit: 'x', streams: ['broadcast'] },
      { path: `/kafka/${topic}?key=${encodeURIComponent(key)}`, unit: '\n', streams: big.slice(2) },
      { path: `/kafka/${topic}?key=${encodeURIComponent(key)}`, unit: 'x', streams: big.slice(2) },
    ];
    for (const { path, unit, streams } of routes) {
      const before = multiplexed.map((reader) => reader.events.length);
      const { body, refusedAbove } = await largestAccepted(
        unit,
        Math.ceil(BOUND / (unit === 'x' ? 1 : 7)),
        (text) => post(`${baseUrl}${path}`, text, 'text/plain'),
      );
      expect(json(refusedAbove).message).toMatch(new RegExp(`over the ${BOUND} bytes.*SSE_MAX_BUFFER_BYTES`));
      // Not one byte of it was lost: each multiplexed reader got it under each stream that carries it.
      await waitUntil(
        () =>
          multiplexed.every(
            (reader, index) => reader.ended || reader.events.length >= before[index] + streams.length,
          ),
        `${path} (${JSON.stringify(unit)}): the largest accepted event arrived`,
      );
      for (const reader of multiplexed) {
        expect({ path, unit, ended: reader.ended }).toEqual({ path, unit, ended: false });
        const got = reader.events.slice(-streams.length);
        expect(got.map((event) => event.type).sort()).toEqual([...streams].sort());
        expect(got.every((event) => event.data === body)).toBe(true);
      }
    }
    await waitUntil(
      () => single.every((reader) => reader.events.filter((event) => event.data.length > 1000).length === 2),
      'the single routes got each largest event',
    );
    expect(readers.map((reader) => reader.ended)).toEqual(readers.map(() => false));
    readers.forEach((reader) => reader.close());
  });
});
