import { PartitionedLog } from './partitioned-log';

describe(PartitionedLog.name, () => {
  const values = (sut: PartitionedLog, position: string, key?: string) =>
    sut.readAfter(position, key).records.map((record) => record.value);

  it('gives each record the vector of next offsets after it, and a head that replays nothing', () => {
    const sut = new PartitionedLog('t', 100, 1_000_000);
    sut.startAt(0, 10);
    sut.startAt(1, 0);
    expect(sut.head()).toBe('10.0');
    expect(sut.append(0, 10, 'a', 'one', 1)?.position).toBe('11.0');
    expect(sut.append(1, 0, 'a', 'two', 2)?.position).toBe('11.1');
    expect(sut.readAfter(sut.head()).records).toEqual([]);
  });

  it('takes each offset once: a record consumed after a local publish took it is a duplicate', () => {
    const sut = new PartitionedLog('t', 100, 1_000_000);
    sut.startAt(0, 0);
    expect(sut.append(0, 0, null, 'mine', 1)).toBeDefined();
    expect(sut.append(0, 0, null, 'mine', 1)).toBeUndefined();
    sut.skip(0, 1);
    expect(sut.append(0, 1, null, 'malformed', 1)).toBeUndefined();
    expect(sut.head()).toBe('2');
  });

  it('resumes after a position per partition, of one key, in the order consumed', () => {
    const sut = new PartitionedLog('t', 100, 1_000_000);
    sut.startAt(0, 0);
    sut.startAt(1, 0);
    const first = sut.append(0, 0, 'a', 'a0', 1)!;
    sut.append(1, 0, 'b', 'b0', 1);
    sut.append(1, 1, 'a', 'a1', 1);
    sut.append(0, 1, 'a', 'a2', 1);
    expect(values(sut, first.position, 'a')).toEqual(['a1', 'a2']);
    // The same position as another instance may have written it, having consumed in another order.
    expect(values(sut, '1.1', 'a')).toEqual(['a1', 'a2']);
    expect(sut.readAfter('1.1').complete).toBe(true);
  });

  it('says when a position is older than what is held, or foreign, and replays what is held', () => {
    const sut = new PartitionedLog('t', 2, 1_000_000);
    sut.startAt(0, 5);
    sut.append(0, 5, null, 'five', 1);
    sut.append(0, 6, null, 'six', 1);
    sut.append(0, 7, null, 'seven', 1);
    expect(sut.readAfter('6')).toMatchObject({ complete: true, resumeAfter: '6' });
    expect(sut.readAfter('5')).toMatchObject({ complete: false, resumeAfter: '6' });
    expect(values(sut, '5')).toEqual(['six', 'seven']);
    expect(sut.beforeOldest()).toBe('6');
  });

  it('treats a position that does not parse as a gap from the newest record, with nothing replayed', () => {
    const sut = new PartitionedLog('t', 10, 1_000_000);
    sut.startAt(0, 5);
    sut.append(0, 5, null, 'five', 1);
    sut.append(0, 6, null, 'six', 1);
    for (const position of ['mwwj113o-2', 'garbage', '', '1..2']) {
      expect(sut.readAfter(position)).toEqual({
        records: [],
        complete: false,
        resumeAfter: '7',
        liveFloor: undefined,
      });
    }
  });

  it('treats a position past the end of the topic in any partition as a gap from what this process took, in every partition', () => {
    const sut = new PartitionedLog('t', 10, 1_000_000);
    sut.startAt(0, 0);
    sut.startAt(1, 0);
    sut.append(0, 0, null, 'p0', 1);
    sut.append(1, 0, null, 'p1', 1);
    // Partition 0 ends at 1, partition 1 at 4 (another instance has read further).
    expect(sut.readAfter('999999.2', undefined, [1, 4])).toEqual({
      records: [],
      complete: false,
      resumeAfter: '1.1',
    });
    // Too few offsets for the topic: the missing ones are not read from the beginning either.
    expect(sut.readAfter('999999', undefined, [1, 4])).toEqual({
      records: [],
      complete: false,
      resumeAfter: '1.1',
    });
    // Within the ends, a position ahead of this process is one another instance has read further.
    expect(sut.readAfter('1.3', undefined, [1, 4])).toMatchObject({ complete: true, liveFloor: [1, 3] });
    // Without the ends, a position ahead of this process is one it has not caught up with yet.
    expect(sut.readAfter('999999.1').liveFloor).toEqual([999999, 1]);
  });

  it('marks a position ahead of this process, so live records the client saw are skipped', () => {
    const sut = new PartitionedLog('t', 10, 1_000_000);
    sut.startAt(0, 0);
    sut.append(0, 0, null, 'zero', 1);
    expect(sut.readAfter('3')).toMatchObject({ complete: true, records: [], liveFloor: [3] });
    expect(sut.readAfter('1').liveFloor).toBeUndefined();
  });

  it('drops the oldest records past the size bound, but always keeps the newest', () => {
    const sut = new PartitionedLog('t', 10, 10);
    sut.startAt(0, 0);
    sut.append(0, 0, null, '12345', 1);
    sut.append(0, 1, null, '123456', 1);
    expect(sut.retained).toBe(1);
    sut.append(0, 2, null, 'x'.repeat(50), 1);
    expect(sut.retained).toBe(1);
    expect(sut.readAfter('0').complete).toBe(false);
  });
});
