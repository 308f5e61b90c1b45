import { TopicLog } from './topic-log';

describe(TopicLog.name, () => {
  let sut: TopicLog;

  beforeEach(() => {
    sut = new TopicLog('t', 'ep', 3, 1000);
  });

  it('gives records increasing positions of its epoch, and a head before the first', () => {
    expect(sut.head()).toBe('ep-0');
    expect(sut.append('a', 'one').position).toBe('ep-1');
    expect(sut.append(null, 'two').position).toBe('ep-2');
    expect(sut.head()).toBe('ep-2');
  });

  it('reads what follows a position, of one key or all', () => {
    sut.append('a', '1');
    const after = sut.append('b', '2').position;
    sut.append('a', '3');
    expect(sut.readAfter('ep-0').records.map((r) => r.value)).toEqual(['1', '2', '3']);
    expect(sut.readAfter(after)).toMatchObject({ complete: true, records: [{ value: '3' }] });
    expect(sut.readAfter('ep-0', 'a').records.map((r) => r.value)).toEqual(['1', '3']);
    expect(sut.readAfter(sut.head())).toMatchObject({ complete: true, records: [] });
  });

  it('reports a gap when the position is older than what it retains, and reads the rest', () => {
    for (const value of ['1', '2', '3', '4', '5']) {
      sut.append('a', value);
    }
    // Capacity 3: records 3..5 are kept; resuming after 1 misses record 2.
    expect(sut.readAfter('ep-2')).toMatchObject({ complete: true });
    const gap = sut.readAfter('ep-1');
    expect(gap.complete).toBe(false);
    expect(gap.resumeAfter).toBe('ep-2');
    expect(gap.records.map((r) => r.value)).toEqual(['3', '4', '5']);
  });

  it.each(['other-1', 'ep-99', 'ep-01', 'ep-1.5', 'nonsense', '', 'ep-'])(
    'treats %j, a position it never issued, as a gap',
    (position) => {
      sut.append('a', '1');
      expect(sut.readAfter(position).complete).toBe(false);
    },
  );

  it('drops the oldest records when the retained text passes its size bound, keeping the newest', () => {
    const sized = new TopicLog('t', 'ep', 100, 10);
    sized.append('a', '12345');
    sized.append('a', '12345');
    expect(sized.retained).toBe(2);
    sized.append('a', '123');
    expect(sized.retained).toBe(2); // 13 characters > 10: the first record goes
    expect(sized.readAfter('ep-0')).toMatchObject({ complete: false, resumeAfter: 'ep-1' });
    sized.append('a', 'x'.repeat(50));
    expect(sized.retained).toBe(1); // over the bound alone, but the newest record stays
    expect(sized.readAfter('ep-3').records.map((r) => r.value.length)).toEqual([50]);
  });
});
