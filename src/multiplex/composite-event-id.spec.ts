import { MAX_EVENT_ID_LENGTH } from '../sse/last-event-id.decorator';
import { CompositeEventId, MAX_COMPOSITE_ID_LENGTH, UNKNOWN_POSITION } from './composite-event-id';
import { MAX_STREAMS } from './stream-catalog';

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
