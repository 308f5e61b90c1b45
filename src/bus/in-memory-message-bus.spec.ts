import { firstValueFrom, take, toArray } from 'rxjs';
import { InMemoryMessageBus } from './in-memory-message-bus';
import { BusDelivery, isBusGap, isBusReplay, NEWEST, OLDEST } from './message-bus.interface';

describe(InMemoryMessageBus.name, () => {
  let sut: InMemoryMessageBus;

  beforeEach(() => {
    sut = new InMemoryMessageBus(100, 1_000_000);
    sut.declareTopic('t');
    sut.declareTopic('other');
  });

  it('refuses topics no feature declared', () => {
    expect(() => sut.publish('undeclared', null, 'x')).toThrow('Topic undeclared was not declared');
  });

  it('gives a projection every retained record, then live ones (projection), and a stream asking for OLDEST the same', async () => {
    await sut.publish('t', 'a', 'one');
    await sut.publish('t', 'b', 'two');
    const seen: BusDelivery[] = [];
    const subscription = sut.subscribe('t', { projection: true }).subscribe((d) => seen.push(d));
    await sut.publish('t', 'a', 'three');
    expect(values(seen)).toEqual(['one', 'two', 'three']);
    subscription.unsubscribe();
    const a = await firstValueFrom(sut.subscribe('t', { key: 'a', after: OLDEST }).pipe(take(1), toArray()));
    expect(a).toEqual([
      expect.objectContaining({ replay: true, position: sut.head('t').replace(/-\d+$/, '-0') }),
    ]);
    expect(values(a)).toEqual(['one', 'three']);
  });

  const values = (deliveries: BusDelivery[]) =>
    deliveries.flatMap((d) =>
      isBusGap(d) ? ['GAP'] : isBusReplay(d) ? d.records.map((r) => r.value) : [d.value],
    );

  it('delivers a keyed record to that key and to topic-wide subscribers only', async () => {
    const alice = firstValueFrom(sut.subscribe('t', { key: 'alice' }).pipe(take(1), toArray()));
    const all = firstValueFrom(sut.subscribe('t').pipe(take(2), toArray()));
    const bob: BusDelivery[] = [];
    const bobSubscription = sut.subscribe('t', { key: 'bob' }).subscribe((d) => bob.push(d));
    await sut.publish('t', 'alice', 'for alice');
    await sut.publish('other', 'alice', 'another topic');
    await sut.publish('t', 'carol', 'for carol');
    expect(values(await alice)).toEqual(['for alice']);
    expect(values(await all)).toEqual(['for alice', 'for carol']);
    expect(bob).toEqual([]);
    bobSubscription.unsubscribe();
  });

  it('replays after a position, then goes on live, each record once and in order', async () => {
    await sut.publish('t', 'k', 'one');
    const seen = await sut.publish('t', 'k', 'two');
    await sut.publish('t', 'k', 'three');
    const got: BusDelivery[] = [];
    const subscription = sut.subscribe('t', { key: 'k', after: seen.position }).subscribe((d) => got.push(d));
    await sut.publish('t', 'k', 'four');
    expect(values(got)).toEqual(['three', 'four']);
    subscription.unsubscribe();
  });

  it('announces a gap for a position it never issued, then goes on from the newest record without a replay', async () => {
    await sut.publish('t', 'k', 'one');
    for (const after of ['elsewhere-5', 'garbage', `${sut.head('t')}0`]) {
      const head = sut.head('t');
      const got: BusDelivery[] = [];
      const subscription = sut.subscribe('t', { key: 'k', after }).subscribe((d) => got.push(d));
      await sut.publish('t', 'k', 'two');
      expect(values(got)).toEqual(['GAP', 'two']);
      expect(got[0]).toMatchObject({ requested: after, resumeAfter: head });
      expect(got[1]).toMatchObject({ replay: true, position: head, records: [] });
      subscription.unsubscribe();
      await sut.publish('t', 'k', 'one');
    }
  });

  it('tells a stream that starts from the newest record where that is, in the same step as it goes live', async () => {
    await sut.publish('t', 'k', 'one');
    const got: BusDelivery[] = [];
    const stream = sut.subscribe('t', { key: 'k', after: NEWEST });
    const head = sut.head('t');
    const subscription = stream.subscribe((d) => got.push(d));
    await sut.publish('t', 'k', 'two');
    expect(got[0]).toEqual({ replay: true, position: head, records: [] });
    expect(values(got)).toEqual(['two']);
    subscription.unsubscribe();
  });

  it('forgets subscriptions when they end', () => {
    const subscriptions = ['a', 'b', undefined].map((key) => sut.subscribe('t', { key }).subscribe());
    expect(sut.subscriptionCount()).toBe(3);
    subscriptions.forEach((s) => s.unsubscribe());
    expect(sut.subscriptionCount()).toBe(0);
  });

  it('hands each command to the handler once, one at a time, in order', async () => {
    const handled: string[] = [];
    let running = 0;
    sut.handleCommands('commands', 'workers', async (record) => {
      running++;
      expect(running).toBe(1);
      await new Promise((resolve) => setTimeout(resolve, 5));
      handled.push(record.value);
      running--;
      if (record.value === 'two') {
        throw new Error('a failing command does not stop the others');
      }
    });
    sut.start();
    for (const value of ['one', 'two', 'three']) {
      await sut.publish('commands', null, value);
    }
    // Wait for the third command rather than a fixed time: on a loaded machine 50 ms was not enough.
    const deadline = Date.now() + 5_000;
    while (handled.length < 3 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(handled).toEqual(['one', 'two', 'three']);
    await sut.close();
  });
});
