import { comparePositions, isAfter } from './positions.js';

describe('comparePositions', () => {
  it('orders positions of one in-memory topic by offset, as numbers', () => {
    expect(comparePositions('mwwj113o-9', 'mwwj113o-10')).toBe(-1);
    expect(comparePositions('mwwj113o-10', 'mwwj113o-9')).toBe(1);
    expect(comparePositions('mwwj113o-10', 'mwwj113o-10')).toBe(0);
  });

  it('does not compare positions of another run (epoch) or of another kind', () => {
    expect(comparePositions('mwwj113o-9', 'mxxk224p-10')).toBeUndefined();
    expect(comparePositions('mwwj113o-9', '41')).toBeUndefined();
    expect(comparePositions('3.4', '3.4.5')).toBeUndefined();
  });

  it('orders report ids (decimal, beyond 2^53) and Kafka vectors partition by partition', () => {
    expect(comparePositions('9007199254740993', '9007199254740992')).toBe(1);
    expect(comparePositions('3.4.5', '3.5.5')).toBe(-1);
    expect(comparePositions('3.6.5', '3.5.5')).toBe(1);
  });
});

describe('isAfter', () => {
  it('delivers the first event of a stream, and events after the last one; drops those at or before it', () => {
    expect(isAfter('mwwj113o-1', undefined)).toBe(true);
    expect(isAfter('mwwj113o-1', '')).toBe(true);
    expect(isAfter('mwwj113o-5', 'mwwj113o-4')).toBe(true);
    expect(isAfter('mwwj113o-4', 'mwwj113o-4')).toBe(false);
    expect(isAfter('mwwj113o-3', 'mwwj113o-4')).toBe(false);
  });

  it('delivers an event whose position does not compare (a restarted server): never drops what it cannot place', () => {
    expect(isAfter('mxxk224p-1', 'mwwj113o-400')).toBe(true);
  });
});
