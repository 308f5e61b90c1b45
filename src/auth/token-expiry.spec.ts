import { onTokenExpiry } from './token-expiry';

describe(onTokenExpiry.name, () => {
  const sut = onTokenExpiry;
  const DAY = 24 * 60 * 60 * 1000;

  beforeEach(() => jest.useFakeTimers({ now: 1_800_000_000_000 }));
  afterEach(() => jest.useRealTimers());

  it('waits 30 days for a token valid 30 days, past the 24.8-day limit of one timer', () => {
    const expired = jest.fn();
    sut(Date.now() + 30 * DAY, expired);
    jest.advanceTimersByTime(30 * DAY - 1);
    expect(expired).not.toHaveBeenCalled();
    jest.advanceTimersByTime(1);
    expect(expired).toHaveBeenCalledTimes(1);
  });

  it('fires at once for a token that has already expired, and not at all once cancelled', () => {
    const expired = jest.fn();
    sut(Date.now() - 1000, expired);
    jest.advanceTimersByTime(0);
    expect(expired).toHaveBeenCalledTimes(1);
    const cancelled = jest.fn();
    const cancel = sut(Date.now() + 40 * DAY, cancelled);
    jest.advanceTimersByTime(25 * DAY);
    cancel();
    jest.advanceTimersByTime(20 * DAY);
    expect(cancelled).not.toHaveBeenCalled();
  });
});
