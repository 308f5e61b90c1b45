import { KeyedBatcher } from './keyed-batcher';

interface Write {
  key: string;
  value: number;
}

/** A fake statement runner: records each statement, and answers when the test says so. */
class Statements {
  readonly started: Write[][] = [];
  private readonly pending: { items: readonly Write[]; resolve(): void; reject(error: Error): void }[] = [];
  inFlight = 0;
  maxInFlight = 0;
  failWhen: (items: readonly Write[]) => boolean = () => false;

  run = (items: readonly Write[]): Promise<readonly string[]> => {
    this.started.push([...items]);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    return new Promise<void>((resolve, reject) => this.pending.push({ items, resolve, reject }))
      .then(
        () => items.map((item) => `${item.key}=${item.value}`),
        (error: Error) => Promise.reject(error),
      )
      .finally(() => this.inFlight--);
  };

  /** Answers every statement started so far (failing those `failWhen` picks), then lets callbacks run. */
  async answerAll(): Promise<void> {
    for (const statement of this.pending.splice(0)) {
      if (this.failWhen(statement.items)) {
        statement.reject(new Error(`statement of ${statement.items.length} failed`));
      } else {
        statement.resolve();
      }
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe(KeyedBatcher.name, () => {
  it('writes what is submitted in one turn of the event loop in one statement', async () => {
    const statements = new Statements();
    const sut = new KeyedBatcher({ run: statements.run, maxBatch: 100, maxInFlight: 2 });

    const results = Promise.all(['a', 'b', 'c'].map((key, value) => sut.submit(key, { key, value })));
    await tick();
    expect(statements.started).toEqual([
      [
        { key: 'a', value: 0 },
        { key: 'b', value: 1 },
        { key: 'c', value: 2 },
      ],
    ]);
    await statements.answerAll();
    await expect(results).resolves.toEqual(['a=0', 'b=1', 'c=2']);
  });

  it('never puts one key in two statements at once, and keeps its writes in submission order', async () => {
    const statements = new Statements();
    const sut = new KeyedBatcher({ run: statements.run, maxBatch: 100, maxInFlight: 4 });

    const results = Promise.all([
      sut.submit('a', { key: 'a', value: 1 }),
      sut.submit('a', { key: 'a', value: 2 }),
      sut.submit('b', { key: 'b', value: 1 }),
      sut.submit('a', { key: 'a', value: 3 }),
    ]);
    await tick();
    // 'a' is busy after the first statement takes a=1; nothing else may start for it.
    expect(statements.started).toEqual([
      [
        { key: 'a', value: 1 },
        { key: 'b', value: 1 },
      ],
    ]);
    await statements.answerAll();
    expect(statements.started[1]).toEqual([{ key: 'a', value: 2 }]);
    await statements.answerAll();
    expect(statements.started[2]).toEqual([{ key: 'a', value: 3 }]);
    await statements.answerAll();
    await expect(results).resolves.toEqual(['a=1', 'a=2', 'b=1', 'a=3']);
  });

  it('holds at most maxInFlight statements of at most maxBatch writes', async () => {
    const statements = new Statements();
    const sut = new KeyedBatcher({ run: statements.run, maxBatch: 3, maxInFlight: 2 });

    const results = Promise.all(
      Array.from({ length: 10 }, (_, value) => sut.submit(`k${value}`, { key: `k${value}`, value })),
    );
    await tick();
    expect(statements.started.map((items) => items.length)).toEqual([3, 3]);
    while (statements.started.flat().length < 10) {
      await statements.answerAll();
    }
    await statements.answerAll();
    expect(statements.started.map((items) => items.length)).toEqual([3, 3, 3, 1]);
    expect(statements.maxInFlight).toBe(2);
    expect(await results).toHaveLength(10);
  });

  it('tries each write of a failed statement alone, so only the bad one fails', async () => {
    const statements = new Statements();
    statements.failWhen = (items) => items.some((item) => item.key === 'bad');
    const sut = new KeyedBatcher({ run: statements.run, maxBatch: 100, maxInFlight: 1 });

    const good = sut.submit('good', { key: 'good', value: 1 });
    const bad = sut.submit('bad', { key: 'bad', value: 2 });
    bad.catch(() => undefined); // looked at below, once every statement has been answered
    const later = sut.submit('later', { key: 'later', value: 3 });
    await tick();
    for (let round = 0; round < 4; round++) {
      await statements.answerAll();
    }

    await expect(good).resolves.toBe('good=1');
    await expect(bad).rejects.toThrow('statement of 1 failed');
    await expect(later).resolves.toBe('later=3');
    expect(statements.started).toEqual([
      [
        { key: 'good', value: 1 },
        { key: 'bad', value: 2 },
        { key: 'later', value: 3 },
      ],
      [{ key: 'good', value: 1 }],
      [{ key: 'bad', value: 2 }],
      [{ key: 'later', value: 3 }],
    ]);
  });

  it('rejects the writes of a statement that returns the wrong number of outcomes', async () => {
    const sut = new KeyedBatcher<Write, string>({
      run: () => Promise.resolve(['only one']),
      maxBatch: 100,
      maxInFlight: 1,
    });
    const both = [sut.submit('a', { key: 'a', value: 1 }), sut.submit('b', { key: 'b', value: 2 })];
    await expect(both[0]).rejects.toThrow(/returned 1 outcomes/);
    await expect(both[1]).rejects.toThrow(/returned 1 outcomes/);
  });
});
