import { EventSource } from 'eventsource';
import { post, RunningApp, startApp, waitUntil } from './support/app';
import { SseReader } from './support/sse-reader';
import { TcpProxy } from './support/tcp-proxy';

describe('resume with Last-Event-ID', () => {
  let running: RunningApp;

  beforeAll(async () => {
    running = await startApp({ BUS_HISTORY_SIZE: '50' });
  });
  afterAll(() => running.close());

  const publish = async (user: string, message: string): Promise<string> => {
    const answer = await post(`${running.baseUrl}/v2/message?username=${user}`, message, 'text/plain');
    expect(answer.status).toBe(201);
    return (JSON.parse(answer.text) as { id: string }).id;
  };

  it.each([
    [
      'the Last-Event-ID header',
      (id: string) => [`/v2/sse?username=resume-h`, { 'last-event-id': id }] as const,
    ],
    [
      'the lastEventId query parameter',
      (id: string) => [`/v2/sse?username=resume-q&lastEventId=${encodeURIComponent(id)}`, {}] as const,
    ],
  ])('replays what was missed, from %s, then goes on live', async (_how, resumeAt) => {
    const user = _how.includes('header') ? 'resume-h' : 'resume-q';
    const first = await SseReader.open(`${running.baseUrl}/v2/sse?username=${user}`);
    await publish(user, 'm1');
    const seenId = await publish(user, 'm2');
    await first.waitForEvents(2);
    first.close();
    await publish(user, 'm3');
    await publish(user, 'm4');
    await publish('someone-else', 'not yours');

    const [path, headers] = resumeAt(seenId);
    const second = await SseReader.open(`${running.baseUrl}${path}`, headers);
    await second.waitForEvents(2);
    await publish(user, 'm5');
    const events = await second.waitForEvents(3);
    expect(events.map((event) => event.data)).toEqual(['m3', 'm4', 'm5']);
    second.close();
  });

  it('loses nothing and repeats nothing when the connection drops while messages flow', async () => {
    const proxy = new TcpProxy(running.port);
    await proxy.start();
    const source = new EventSource(`http://127.0.0.1:${proxy.port}/v2/sse?username=flaky`);
    const received: string[] = [];
    let opens = 0;
    source.onmessage = (event) => received.push(event.data);
    source.onopen = () => opens++;
    await waitUntil(() => opens === 1, 'the EventSource connected');

    const total = 150;
    for (let n = 0; n < total; n++) {
      await publish('flaky', `seq-${n}`);
      if (n % 40 === 20) {
        proxy.dropAll(); // the client reconnects after the 100 ms retry hint, with Last-Event-ID
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await waitUntil(
      () => received.length >= total,
      `all ${total} messages arrived (got ${received.length})`,
      10_000,
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(opens).toBeGreaterThanOrEqual(4);
    expect(received).toEqual(Array.from({ length: total }, (_, n) => `seq-${n}`));
    source.close();
    await proxy.stop();
  });

  it('says so with a history-gap event when the id is older than the history, then goes on', async () => {
    const reader = await SseReader.open(`${running.baseUrl}/v2/sse?username=gappy`);
    const seenId = await publish('gappy', 'seen');
    await reader.waitForEvents(1);
    reader.close();
    for (let n = 0; n < 60; n++) {
      await publish(n % 2 === 0 ? 'gappy' : 'other', `later-${n}`); // 60 > BUS_HISTORY_SIZE (50)
    }
    const resumed = await SseReader.open(`${running.baseUrl}/v2/sse?username=gappy`, {
      'last-event-id': seenId,
    });
    await publish('gappy', 'live');
    const events = await resumed.waitForEvents(1 + 25 + 1);
    const [gap, ...rest] = events;
    expect(gap.type).toBe('history-gap');
    expect(JSON.parse(gap.data)).toMatchObject({ lastEventId: seenId });
    // The 50 retained records hold 25 of this user's; they follow the notice, then live ones.
    expect(rest.map((event) => event.data)).toEqual([
      ...Array.from({ length: 25 }, (_, k) => `later-${10 + 2 * k}`),
      'live',
    ]);
    resumed.close();
  });

  it('treats an id it never issued (another run, another server) as a gap, not an error', async () => {
    const reader = await SseReader.open(`${running.baseUrl}/v2/sse?username=stranger`, {
      'last-event-id': 'abc-123',
    });
    await publish('stranger', 'hello');
    const events = await reader.waitForEvents(2);
    expect(events[0].type).toBe('history-gap');
    expect(events[1].data).toBe('hello');
    reader.close();
  });

  it('resumes the broadcaster after the id of its "connected" greeting', async () => {
    const first = await SseReader.open(`${running.baseUrl}/events`);
    const [connected] = await first.waitForEvents(1);
    expect(connected.data).toBe('connected');
    first.close();
    await post(`${running.baseUrl}/events`, 'while away', 'text/plain');
    const second = await SseReader.open(`${running.baseUrl}/events`, { 'last-event-id': connected.id! });
    const events = await second.waitForEvents(2);
    expect(events.map((event) => event.data)).toEqual(['connected', 'while away']);
    second.close();
  });

  it('refuses a Last-Event-ID that is too long or has control characters with 400, before any stream', async () => {
    for (const bad of ['x'.repeat(300), 'a\tb']) {
      const reader = await SseReader.open(`${running.baseUrl}/v2/sse?username=bad-id`, {
        'last-event-id': bad,
      });
      expect(reader.status).toBe(400);
      expect(reader.headers?.['content-type']).toContain('application/json');
      await reader.waitForEnd();
      expect(reader.raw).toContain('Last-Event-ID');
    }
  });
});
