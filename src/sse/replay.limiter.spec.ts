import { ReplayLimiter } from './replay.limiter';

describe(ReplayLimiter.name, () => {
  it('lets a user read as many replays at once as its limit, then hands turns on in order as they end', () => {
    const sut = new ReplayLimiter(2);
    const granted: string[] = [];
    const turn = (name: string) => () => granted.push(name);
    expect(sut.acquire('mallory', turn('a'))).toBe(true);
    expect(sut.acquire('mallory', turn('b'))).toBe(true);
    expect(sut.acquire('mallory', turn('c'))).toBe(false);
    expect(sut.acquire('mallory', turn('d'))).toBe(false);
    expect(sut.acquire('alice', turn('e'))).toBe(true); // another user is not held up

    sut.release('mallory');
    expect(granted).toEqual(['c']);
    sut.release('mallory');
    sut.release('mallory');
    expect(granted).toEqual(['c', 'd']);
  });

  it('forgets a connection that stops waiting, and a user with nothing left', () => {
    const sut = new ReplayLimiter(1);
    const waiting = jest.fn();
    expect(sut.acquire('mallory', () => undefined)).toBe(true);
    expect(sut.acquire('mallory', waiting)).toBe(false);
    sut.withdraw('mallory', waiting);
    sut.release('mallory');
    expect(waiting).not.toHaveBeenCalled();
    expect(sut.size).toBe(0);
  });
});
