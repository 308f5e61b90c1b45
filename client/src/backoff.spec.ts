import { Backoff, retryAfterMs } from './backoff.js';

describe(Backoff.name, () => {
  it('doubles from the retry hint, jittered between half and all of it, up to the cap', () => {
    const low = new Backoff(100, 1000, () => 0);
    const high = new Backoff(100, 1000, () => 1);
    expect([1, 2, 3, 4, 5].map(() => low.next())).toEqual([50, 100, 200, 400, 500]);
    expect([1, 2, 3, 4, 5].map(() => high.next())).toEqual([100, 200, 400, 800, 1000]);
  });

  it('starts again from the server’s latest retry hint after a reset', () => {
    const sut = new Backoff(100, 10_000, () => 1);
    sut.next();
    sut.next();
    sut.retryHint = 2000;
    sut.reset();
    expect(sut.next()).toBe(2000);
  });

  it('never waits less than a Retry-After', () => {
    const sut = new Backoff(100, 1000, () => 0);
    expect(sut.next(5000)).toBe(5000);
  });
});

describe('retryAfterMs', () => {
  it('reads delta-seconds and HTTP dates, and nothing else', () => {
    expect(retryAfterMs('5')).toBe(5000);
    expect(retryAfterMs(new Date(61_000).toUTCString(), 1000)).toBe(60_000);
    expect(retryAfterMs(null)).toBeUndefined();
    expect(retryAfterMs('soon')).toBeUndefined();
  });
});
