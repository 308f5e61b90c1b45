import { FlushScheduler } from './flush-scheduler';

describe(FlushScheduler.name, () => {
  it('flushes everything scheduled in one turn together, in the next turn, once per schedule', async () => {
    const sut = new FlushScheduler();
    const flushed: string[] = [];
    sut.schedule({ flush: () => flushed.push('a') });
    sut.schedule({ flush: () => flushed.push('b') });
    expect(flushed).toEqual([]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(flushed).toEqual(['a', 'b']);
    sut.schedule({ flush: () => flushed.push('c') });
    await new Promise((resolve) => setImmediate(resolve));
    expect(flushed).toEqual(['a', 'b', 'c']);
  });
});
