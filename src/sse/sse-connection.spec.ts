import { ServerResponse } from 'node:http';
import { Writable } from 'node:stream';
import { FlushScheduler } from './flush-scheduler';
import { SseConnection, SseConnectionHooks } from './sse-connection';
import { SseEvent } from './sse-event';
import { SseReplay } from './sse-replay';

/**
 * A response whose client reads only when told to: writes stay buffered (as in a socket whose
 * kernel buffer is full) until `read()` lets them go.
 */
class StalledClient extends Writable {
  received = '';
  private held: (() => void)[] = [];

  constructor() {
    super({ highWaterMark: 1024 });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.received += chunk.toString();
    this.held.push(done);
  }

  /** The client takes everything written so far. */
  read(): void {
    const held = this.held;
    this.held = [];
    held.forEach((done) => done());
  }
}

const turn = () => new Promise((resolve) => setImmediate(resolve));
const turns = async (count: number) => {
  for (let i = 0; i < count; i++) {
    await turn();
  }
};

describe(SseConnection.name, () => {
  const BOUND = 8 * 1024;
  let client: StalledClient;
  let slowReaders: number;
  let sut: SseConnection;

  const open = (replayTimeoutMs = 60_000) => {
    client = new StalledClient();
    slowReaders = 0;
    const hooks: SseConnectionHooks = { onSlowReader: () => slowReaders++, onEventsSent: () => undefined };
    sut = new SseConnection(
      client as unknown as ServerResponse,
      { stream: 't', requestId: 'r', userKeys: [], maxBufferBytes: BOUND, retryMs: 1000, replayTimeoutMs },
      new FlushScheduler(),
      hooks,
    );
  };

  /** A replay of `count` events of about 1 KB, counting how many were made. */
  const replayOf = (count: number, position = 'p-0') => {
    const made = { count: 0 };
    const replay = new SseReplay(position, () => {
      if (made.count === count) {
        return undefined;
      }
      made.count++;
      return new SseEvent(`p-${made.count}`, `${made.count}:${'x'.repeat(1000)}`);
    });
    return { replay, made };
  };

  const dataOf = (text: string) =>
    [...text.matchAll(/^data: (\d+)(?::x+)?$/gm)].map((match) => Number(match[1]));

  beforeEach(() => open());
  afterEach(() => sut.release());

  it('makes replayed events only as the client reads: never more than the bound waits for it', async () => {
    const { replay, made } = replayOf(1000);
    sut.send(replay);
    sut.start();
    await turns(20);
    // The client reads nothing: about one bound's worth was made, and that is all that waits.
    expect(made.count).toBeLessThanOrEqual(BOUND / 1000 + 2);
    expect(sut.queuedBytes).toBeLessThanOrEqual(BOUND + 1100);
    expect(slowReaders).toBe(0);

    for (let i = 0; i < 400 && made.count < 1000; i++) {
      client.read();
      await turns(2);
      expect(sut.queuedBytes).toBeLessThanOrEqual(BOUND + 1100);
    }
    client.read();
    await turns(5);
    client.read();
    expect(dataOf(client.received)).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
  });

  it('sends events that come during a replay after it, in order, and drops a client whose backlog passes the bound', async () => {
    const { replay } = replayOf(30);
    sut.send(replay);
    sut.start();
    sut.send(new SseEvent('live-1', '31'));
    sut.send(new SseEvent('live-2', '32'));
    for (let i = 0; i < 100; i++) {
      client.read();
      await turn();
    }
    expect(dataOf(client.received)).toEqual(Array.from({ length: 32 }, (_, i) => i + 1));
    expect(client.received).toMatch(/id: live-2\ndata: 32\n\n$/);

    open();
    sut.send(replayOf(1000).replay);
    sut.start();
    await turns(5);
    for (let i = 0; i < 10 && slowReaders === 0; i++) {
      sut.send(new SseEvent(`live-${i}`, 'y'.repeat(1000)));
    }
    expect(slowReaders).toBe(1);
    expect(sut.isOpen).toBe(false);
  });

  it('drops a client that does not read its replay in time', async () => {
    open(50);
    sut.send(replayOf(1000).replay);
    sut.start();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(slowReaders).toBe(1);
    expect(sut.closeReason).toBe('replay not read in time');
  });

  it('waits for a replay whose next event is being fetched, keeping the order', async () => {
    let fetched = 0;
    sut.send(
      new SseReplay('p-0', () =>
        fetched === 3
          ? undefined
          : new Promise<SseEvent>((resolve) =>
              setTimeout(() => resolve(new SseEvent(`p-${++fetched}`, `${fetched}`)), 5),
            ),
      ),
    );
    sut.start();
    sut.send(new SseEvent('live', '4'));
    for (let i = 0; i < 20; i++) {
      client.read();
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(dataOf(client.received)).toEqual([1, 2, 3, 4]);
  });

  it('gives the client a resume point from the first block: the replay position, as an id without data', async () => {
    sut.send(new SseReplay('p-41', () => undefined));
    sut.start();
    await turn();
    expect(client.received).toMatch(
      /^[0-9a-f]+\r\nretry: 1000\nid: p-41\n\n\r\n$|^retry: 1000\nid: p-41\n\n$/,
    );

    // Known only once the stream has started: a block of its own.
    open();
    sut.start();
    sut.send(new SseReplay('p-42', () => undefined));
    await turn();
    client.read();
    expect(client.received).toBe('retry: 1000\n\nid: p-42\n\n');

    // After an event, which has an id of its own, nothing more.
    open();
    sut.send(new SseEvent('p-1', 'hello'));
    sut.send(new SseReplay('p-1', () => undefined));
    sut.start();
    await turn();
    expect(client.received).toBe('retry: 1000\n\nid: p-1\ndata: hello\n\n');
    expect(sut.eventsSent).toBe(1);
  });
});
