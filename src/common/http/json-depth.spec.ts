import { nestsDeeperThan } from './json-depth';

describe(nestsDeeperThan.name, () => {
  const sut = nestsDeeperThan;
  const nested = (levels: number): object => JSON.parse('['.repeat(levels) + ']'.repeat(levels)) as object;

  it.each([
    [{ message: 'hi' }, 1, false],
    [{ a: { b: [1, 2] } }, 3, false],
    [{ a: { b: [1, 2] } }, 2, true],
    [[{}, [[]]], 3, false],
    [[{}, [[]]], 2, true],
  ])('%j within %d levels: deeper is %s', (value, limit, deeper) => {
    expect(sut(value, limit)).toBe(deeper);
  });

  it('walks 30,000 levels without a stack overflow', () => {
    expect(sut(nested(30_000), 32)).toBe(true);
    expect(sut(nested(32), 32)).toBe(false);
    expect(sut(nested(33), 32)).toBe(true);
  });
});
