import { KeepAliveScheduler, KeepAliveTarget, WriteClock } from './keep-alive.scheduler';
import { SharedComment } from './sse-connection';

/** A stream as the scheduler sees it: it stamps its writes as SseConnection does, and notes when each went out. */
class RecordingStream implements KeepAliveTarget {
  lastWriteAt = 0;
  readonly writes: { at: number; text: string }[] = [];
  private clock?: WriteClock;

  stampWritesWith(clock: WriteClock | undefined): void {
    this.clock = clock;
    this.lastWriteAt = clock?.now ?? 0;
  }

  sendComment(comment: SharedComment): void {
    this.write(comment.frame.toString());
  }

  write(text: string): void {
    this.writes.push({ at: Date.now(), text });
    if (this.clock) {
      this.lastWriteAt = this.clock.now;
    }
  }

  get comments(): number[] {
    return this.writes.filter(({ text }) => text.startsWith(':')).map(({ at }) => at);
  }
}

describe(KeepAliveScheduler.name, () => {
  let sut: KeepAliveScheduler;
  let start: number;

  beforeEach(() => {
    jest.useFakeTimers();
    start = Date.now();
    sut = new KeepAliveScheduler();
  });
  afterEach(() => {
    sut.onApplicationShutdown();
    jest.useRealTimers();
  });

  const since = (times: number[]) => times.map((at) => at - start);

  it('sends an idle stream the comment once per interval, not before a whole interval and at most a tenth of one late', () => {
    const stream = new RecordingStream();
    sut.register(stream, 1000, 'ping');
    jest.advanceTimersByTime(5000);
    const gaps = since(stream.comments).map((at, i, all) => at - (i === 0 ? 0 : all[i - 1]));
    expect(gaps.length).toBe(4);
    for (const gap of gaps) {
      expect(gap).toBeGreaterThanOrEqual(1000);
      expect(gap).toBeLessThanOrEqual(1100);
    }
    expect(stream.writes[0].text).toBe(': ping\n\n');
  });

  it('sends nothing to a stream written to more often than the interval', () => {
    const stream = new RecordingStream();
    sut.register(stream, 1000, 'ping');
    for (let i = 0; i < 30; i++) {
      jest.advanceTimersByTime(900);
      stream.write('data: busy\n\n');
    }
    expect(stream.comments).toEqual([]);
    jest.advanceTimersByTime(1100); // silent from now on: kept alive again
    expect(since(stream.comments)).toEqual([expect.any(Number)]);
    expect(since(stream.comments)[0]).toBeGreaterThanOrEqual(27_000 + 1000);
  });

  it('counts the interval from the last write, whatever it was', () => {
    const stream = new RecordingStream();
    sut.register(stream, 1000, 'ping');
    jest.advanceTimersByTime(950);
    stream.write('data: one\n\n');
    jest.advanceTimersByTime(1000);
    expect(stream.comments).toEqual([]);
    jest.advanceTimersByTime(100);
    expect(since(stream.comments)).toHaveLength(1);
    expect(since(stream.comments)[0]).toBeGreaterThanOrEqual(1950);
  });

  it('gives v1 the reference output: data: hi! every 15 s, and four keep-alives between two, none beside one', () => {
    const stream = new RecordingStream();
    stream.write('data: hi!\n\n');
    sut.register(stream, 3000, 'keep-alive-text');
    const beats = setInterval(() => stream.write('data: hi!\n\n'), 15_000);
    jest.advanceTimersByTime(60_000 + 100);
    clearInterval(beats);
    const lines = stream.writes.map(({ text }) => text.trim());
    const between = lines
      .join('\n')
      .split('data: hi!')
      .slice(1, -1)
      .map((part) => part.split('\n').filter((line) => line !== '').length);
    expect(lines.filter((line) => line === 'data: hi!')).toHaveLength(5);
    expect(between).toEqual([4, 4, 4, 4]);
    // Never a keep-alive within an interval of another write.
    for (let i = 1; i < stream.writes.length; i++) {
      if (stream.writes[i].text.startsWith(':')) {
        expect(stream.writes[i].at - stream.writes[i - 1].at).toBeGreaterThanOrEqual(3000);
      }
    }
  });

  it('serves every stream of one interval and text on one timer, however many and however busy', () => {
    const streams = Array.from({ length: 1000 }, () => new RecordingStream());
    for (const stream of streams) {
      sut.register(stream, 1000, 'ping');
    }
    expect(sut.activeTimers()).toBe(1);
    expect(jest.getTimerCount()).toBe(1);
    for (let i = 0; i < 20; i++) {
      jest.advanceTimersByTime(100);
      streams.slice(0, 500).forEach((stream) => stream.write('data: x\n\n'));
    }
    expect(jest.getTimerCount()).toBe(1);
    expect(streams.slice(0, 500).every((stream) => stream.comments.length === 0)).toBe(true);
    expect(streams.slice(500).every((stream) => stream.comments.length === 1)).toBe(true);
  });

  it('stops the timer with its last stream, and sends nothing to one that left', () => {
    const a = new RecordingStream();
    const stopA = sut.register(a, 1000, 'ping');
    const stopB = sut.register(new RecordingStream(), 1000, 'ping');
    sut.register(new RecordingStream(), 3000, 'other');
    expect(sut.activeTimers()).toBe(2);
    stopA();
    stopA(); // a second call changes nothing
    jest.advanceTimersByTime(3000);
    expect(a.writes).toEqual([]);
    stopB();
    expect(sut.activeTimers()).toBe(1);
    expect(jest.getTimerCount()).toBe(1);
  });
  it('keeps time by the wall clock when its timer fires late: the lag of each call is not added up', () => {
    const stream = new RecordingStream();
    sut.register(stream, 400, 'keep-alive-text');
    // A loaded event loop: every 20 ms tick runs 10 ms late (the clock moves 30 ms per call).
    while (Date.now() - start < 2000) {
      jest.setSystemTime(Date.now() + 10);
      jest.advanceTimersByTime(20);
    }
    const times = since(stream.comments);
    expect(times).toHaveLength(4); // v1's four keep-alives fit between two beats 2 s apart
    for (const [i, at] of times.entries()) {
      expect(at).toBeGreaterThanOrEqual(400 * (i + 1));
      expect(at).toBeLessThanOrEqual(480 * (i + 1));
    }
  });

  it('catches up after the event loop was blocked for longer than a round of the wheel, once per stream', () => {
    const streams = Array.from({ length: 3 }, () => new RecordingStream());
    for (const stream of streams) {
      sut.register(stream, 1000, 'ping');
    }
    jest.advanceTimersByTime(500);
    jest.setSystemTime(Date.now() + 5000); // blocked 5 s
    jest.advanceTimersByTime(50);
    expect(streams.map((stream) => stream.comments.length)).toEqual([1, 1, 1]);
    jest.advanceTimersByTime(1100);
    expect(streams.map((stream) => stream.comments.length)).toEqual([2, 2, 2]);
  });

  it('does not place back a stream that its comment ended', () => {
    const stream = new RecordingStream();
    let stop = () => {};
    stream.sendComment = (comment) => {
      stream.write(comment.frame.toString());
      stop(); // the write found the socket gone: the connection ends and unregisters
    };
    stop = sut.register(stream, 1000, 'ping');
    sut.register(new RecordingStream(), 1000, 'ping'); // keeps the wheel turning
    jest.advanceTimersByTime(5000);
    expect(stream.comments).toHaveLength(1);
  });
});
