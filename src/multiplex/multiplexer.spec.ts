import { Subject } from 'rxjs';
import { SseEvent, SsePositionMarker } from '../sse/sse-event';
import { SseItem, SseReplay } from '../sse/sse-replay';
import { SlowReaderError } from '../sse/sse.errors';
import { MAX_EVENT_ID_LENGTH } from '../sse/topic-event-stream';
import {
  CompositeEventId,
  MAX_COMPOSITE_ID_LENGTH,
  MultiplexedEvents,
  multiplexStreams,
  UNKNOWN_POSITION,
} from './multiplexer';
import { MAX_STREAMS } from './stream-catalog';

/** What a connection writes, in order: an event's id and type, or `id` for a position marker. */
interface Written {
  id: string;
  type?: string;
  data?: string;
}

/** Takes items as SseConnection does: events at once, a replay's events one by one, later, in order. */
class Connection {
  written: Written[] = [];
  error?: unknown;
  private replays: SseReplay[] = [];

  take(item: SseItem): void {
    if (item instanceof SseReplay) {
      this.replays.push(item);
    } else if (this.replays.length === 0) {
      this.write(item);
    } else {
      throw new Error('an event came while a replay was being read: its id would be out of order');
    }
  }

  /** The client reads: every replay to its end. */
  async read(): Promise<void> {
    while (this.replays.length > 0) {
      const next = await this.replays[0].next();
      if (next === undefined) {
        this.replays.shift();
      } else {
        this.write(next);
      }
    }
  }

  private write(event: SseEvent): void {
    this.written.push(
      event instanceof SsePositionMarker
        ? { id: event.id }
        : { id: event.id, type: event.type, data: event.data },
    );
  }
}

describe(multiplexStreams.name, () => {
  const sut = multiplexStreams;
  const ids = new CompositeEventId(['a', 'b']);
  const tag = ids.encode([]);
  let a: Subject<SseItem>;
  let b: Subject<SseItem>;
  let connection: Connection;

  const open = (maxQueuedBytes = 64 * 1024, positions = ['', '']) => {
    a = new Subject();
    b = new Subject();
    connection = new Connection();
    sut(
      [
        { name: 'a', events: a, position: positions[0] },
        { name: 'b', events: b, position: positions[1] },
      ],
      ids,
      new MultiplexedEvents(),
      maxQueuedBytes,
    ).subscribe({
      next: (item) => connection.take(item),
      error: (error: unknown) => (connection.error = error),
    });
  };

  it('names each event by its stream (and its type), with every stream’s position as of that event', () => {
    open(undefined, ['a0', '']);
    a.next(new SseEvent('a1', 'one'));
    b.next(new SseEvent('b1', '{"x":1}', 'status'));
    a.next(new SseEvent('a2', 'two'));
    expect(connection.written).toEqual([
      { id: `${tag},a1,`, type: 'a', data: 'one' },
      { id: `${tag},a1,b1`, type: 'b.status', data: '{"x":1}' },
      { id: `${tag},a2,b1`, type: 'a', data: 'two' },
    ]);
  });

  it('gives events that come while a replay is read their ids after the replay’s, in the order written', async () => {
    open();
    a.next(new SseReplay('a0', () => undefined)); // an empty replay: a starting position
    a.next(SseReplay.of('a0', [new SseEvent('a1', 'old 1'), new SseEvent('a2', 'old 2')]));
    b.next(new SseEvent('b1', 'live b'));
    b.next(new SseReplay('b1', () => Promise.resolve(undefined)));
    await connection.read();
    a.next(new SseEvent('a3', 'live a'));
    expect(connection.written).toEqual([
      { id: `${tag},a0,` },
      { id: `${tag},a1,`, type: 'a', data: 'old 1' },
      { id: `${tag},a2,`, type: 'a', data: 'old 2' },
      { id: `${tag},a2,b1`, type: 'b', data: 'live b' },
      { id: `${tag},a3,b1`, type: 'a', data: 'live a' },
    ]);
  });

  it('reads a replay whose events come from a store (promises) in order', async () => {
    open();
    const stored = [new SseEvent('7', 'seven', 'status'), new SseEvent('8', 'eight', 'status')];
    b.next(new SseReplay('6', () => Promise.resolve(stored.shift())));
    a.next(new SseEvent('a1', 'during'));
    await connection.read();
    expect(connection.written.map((event) => event.id)).toEqual([
      `${tag},,6`,
      `${tag},,7`,
      `${tag},,8`,
      `${tag},a1,8`,
    ]);
  });

  it('drops the client as a slow reader when more than the bound waits behind a replay', () => {
    open(1_000);
    a.next(SseReplay.of('a0', [new SseEvent('a1', 'old')]));
    for (let n = 0; n < 20; n++) {
      b.next(new SseEvent(`b${n}`, 'x'.repeat(100)));
    }
    expect(connection.error).toBeInstanceOf(SlowReaderError);
  });

  it('counts an event waiting behind a replay at the size its own route sends it: the largest one that fits waits, one byte more does not', () => {
    const largest = new SseEvent('b1', 'x'.repeat(1_000));
    open(largest.frame.length);
    a.next(SseReplay.of('a0', [new SseEvent('a1', 'old')]));
    b.next(largest);
    expect(connection.error).toBeUndefined();

    open(largest.frame.length);
    a.next(SseReplay.of('a0', [new SseEvent('a1', 'old')]));
    b.next(new SseEvent('b1', 'x'.repeat(1_001)));
    expect(connection.error).toBeInstanceOf(SlowReaderError);
  });

  it('shares one event between connections whose ids are the same, and its body between all', () => {
    const events = new MultiplexedEvents();
    const source = new SseEvent('1', 'hello');
    const first = events.of(source, 'broadcast', 't,1');
    expect(events.of(source, 'broadcast', 't,1')).toBe(first);
    const other = events.of(source, 'broadcast', 't,1,9');
    expect(other).not.toBe(first);
    expect(other.frame.toString()).toBe('id: t,1,9\nevent: broadcast\ndata: hello\n\n');
  });

  it('says how many bytes of each frame and chunk are the connection’s own framing: what is left is the frame of the event’s own route', () => {
    const events = new MultiplexedEvents();
    // Sizes around a change in the number of hex digits of a chunk's length, names in two-byte
    // characters, typed and untyped events, ids shorter and longer than the source's.
    for (const size of [1, 200, 4_000, 4_070, 4_080, 4_095, 65_400, 65_500]) {
      for (const source of [
        new SseEvent('mwwj113o-12', 'x'.repeat(size)),
        new SseEvent('17.3', '\n'.repeat(size), 'report_status_update'),
      ]) {
        for (const [name, id] of [
          ['broadcast', 'x,mwwj113o-12'],
          [`kafka:t:${'é'.repeat(190)}`, `tag,${'17.3,'.repeat(19)}17.3`],
        ]) {
          const sut = events.of(source, name, id);
          expect(sut.frame.length - sut.framingAllowance(false)).toBe(source.frame.length);
          expect(sut.chunk.length - sut.framingAllowance(true)).toBe(source.chunk.length);
        }
      }
    }
  });
});

describe(CompositeEventId.name, () => {
  const names = ['broadcast', 'v2:alice', 'reports:6f1c1c52-2e55-4a52-9d1c-5b0d7c9a3f10'];
  const sut = new CompositeEventId(names);

  it('gives each stream back its position, and none to a stream that had none', () => {
    const id = sut.encode(['mx986wwz-4', '', '42']);
    expect(id).toMatch(/^[0-9a-z]+,mx986wwz-4,,42$/);
    expect(sut.decode(id)).toEqual(['mx986wwz-4', undefined, '42']);
    expect(sut.decode(undefined)).toEqual([undefined, undefined, undefined]);
  });

  it('keeps Kafka positions (offsets per partition) as they are', () => {
    expect(sut.decode(sut.encode(['12.7.0', '3', '1']))).toEqual(['12.7.0', '3', '1']);
  });

  it('encodes a position that holds the separator or a line break, so it can neither split the id nor end its line', () => {
    const id = sut.encode(['a,b', 'x\ny\rz', '100%']);
    expect(id).not.toMatch(/[\r\n]/);
    expect(id.split(',')).toHaveLength(4);
    expect(sut.decode(id)).toEqual(['a,b', 'x\ny\rz', '100%']);
  });

  it('takes an id of another list of streams, or in another order, as no position of these', () => {
    const other = new CompositeEventId(['v2:alice', 'broadcast', names[2]]);
    expect(sut.decode(other.encode(['1', '2', '3']))).toEqual(Array(3).fill(UNKNOWN_POSITION));
    expect(sut.decode(`${sut.encode(['1', '2', '3'])},4`)).toEqual(Array(3).fill(UNKNOWN_POSITION));
    expect(sut.decode('garbage')).toEqual(Array(3).fill(UNKNOWN_POSITION));
    expect(sut.decode(sut.encode(['%E0%A4%A', '2', '3']).replace('%25', '%'))).toEqual([
      UNKNOWN_POSITION,
      '2',
      '3',
    ]);
  });

  it('stays within the bound taken back as Last-Event-ID with the most streams at the longest positions', () => {
    const most = new CompositeEventId(Array.from({ length: MAX_STREAMS }, (_, n) => `v2:user-${n}`));
    const id = most.encode(Array(MAX_STREAMS).fill('9'.repeat(MAX_EVENT_ID_LENGTH)));
    expect(id.length).toBeLessThanOrEqual(MAX_COMPOSITE_ID_LENGTH);
    expect(MAX_COMPOSITE_ID_LENGTH).toBeLessThan(8 * 1024);
  });
});
