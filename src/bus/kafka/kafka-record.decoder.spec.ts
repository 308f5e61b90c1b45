import { KafkaMessage } from 'kafkajs';
import { decodeRecord } from './kafka-record.decoder';

describe(decodeRecord.name, () => {
  const sut = decodeRecord;

  /** A record as kafkajs hands it over: any field may be what an odd producer wrote. */
  const message = (fields: Partial<Record<keyof KafkaMessage, unknown>> = {}): KafkaMessage =>
    ({
      offset: '0',
      key: Buffer.from('k'),
      value: Buffer.from('v'),
      timestamp: '1000',
      attributes: 0,
      headers: {},
      ...fields,
    }) as KafkaMessage;

  it('gives key, value, timestamp and headers as text', () => {
    expect(sut(message({ headers: { trace: Buffer.from('t-1'), tag: [Buffer.from('a'), 'b'] } }))).toEqual({
      key: 'k',
      value: 'v',
      timestamp: 1000,
      headers: { trace: 't-1', tag: ['a', 'b'] },
    });
  });

  it('leaves out a header without a value, or whose value is not UTF-8, and keeps the record', () => {
    const decoded = sut(
      message({
        headers: {
          novalue: null,
          gone: undefined,
          binary: Buffer.from([0xff, 0xfe]),
          kept: Buffer.from('yes'),
          repeated: [null, Buffer.from('one'), Buffer.from([0xc3])],
          twice: [Buffer.from('1'), null, Buffer.from('2')],
        },
      }),
    );
    expect(decoded).toEqual({
      key: 'k',
      value: 'v',
      timestamp: 1000,
      headers: { kept: 'yes', repeated: 'one', twice: ['1', '2'] },
    });
  });

  it('keeps no headers when none has a value, as for a record without headers', () => {
    expect(sut(message({ headers: { novalue: null } }))).toEqual({ key: 'k', value: 'v', timestamp: 1000 });
    expect(sut(message({ headers: undefined }))).toEqual({ key: 'k', value: 'v', timestamp: 1000 });
  });

  it('gives a record without a key the key null, and a tombstone the empty value', () => {
    expect(sut(message({ key: null, value: null }))).toMatchObject({ key: null, value: '' });
  });

  it.each([
    ['value', { value: Buffer.from([0xff, 0xfe]) }, 'its value is not valid UTF-8'],
    ['key', { key: Buffer.from([0x80]) }, 'its key is not valid UTF-8'],
  ])('refuses a record whose %s is not UTF-8, rather than alter it', (_, fields, error) => {
    expect(sut(message(fields))).toEqual({ error });
  });

  it.each([
    ['-1'],
    ['9223372036854775807'],
    ['-9223372036854775808'],
    ['8640000000000001'],
    ['soon'],
    [null],
  ])('takes the time it was read for a timestamp that is no time (%s)', (timestamp) => {
    const before = Date.now();
    const decoded = sut(message({ timestamp }));
    if ('error' in decoded) {
      throw new Error(decoded.error);
    }
    expect(decoded.timestamp).toBeGreaterThanOrEqual(before);
    expect(decoded.timestamp).toBeLessThanOrEqual(Date.now());
    expect(() => new Date(decoded.timestamp).toISOString()).not.toThrow();
  });
});
