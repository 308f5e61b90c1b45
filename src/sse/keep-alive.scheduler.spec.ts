import { KeepAliveScheduler } from './keep-alive.scheduler';
import { SharedComment, SseConnection } from './sse-connection';

describe(KeepAliveScheduler.name, () => {
  let sut: KeepAliveScheduler;

  beforeEach(() => {
    jest.useFakeTimers();
    sut = new KeepAliveScheduler();
  });
  afterEach(() => {
    sut.onApplicationShutdown();
    jest.useRealTimers();
  });

  const connection = () => {
    const comments: string[] = [];
    const fake = { sendComment: (comment: SharedComment) => comments.push(comment.frame.toString()) };
    return { comments, connection: fake as unknown as SseConnection };
  };

  it('sends the comment to every registered connection on one shared timer', () => {
    const a = connection();
    const b = connection();
    sut.register(a.connection, 1000, 'ping');
    sut.register(b.connection, 1000, 'ping');
    expect(sut.activeTimers()).toBe(1);
    jest.advanceTimersByTime(2500);
    expect(a.comments).toEqual([': ping\n\n', ': ping\n\n']);
    expect(b.comments).toEqual([': ping\n\n', ': ping\n\n']);
  });

  it('stops the timer with its last connection', () => {
    const a = connection();
    const stopA = sut.register(a.connection, 1000, 'ping');
    const stopB = sut.register(connection().connection, 1000, 'ping');
    sut.register(connection().connection, 3000, 'other');
    expect(sut.activeTimers()).toBe(2);
    stopA();
    jest.advanceTimersByTime(1000);
    expect(a.comments).toEqual([]);
    stopB();
    expect(sut.activeTimers()).toBe(1);
    expect(jest.getTimerCount()).toBe(1);
  });
});
