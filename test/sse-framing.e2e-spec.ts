import { EventSource } from 'eventsource';
import { post, RunningApp, startApp, waitUntil } from './support/app';
import { SseReader } from './support/sse-reader';

describe('SSE framing and headers', () => {
  let running: RunningApp;

  beforeAll(async () => {
    running = await startApp();
  });
  afterAll(() => running.close());

  it('answers with event-stream headers, a retry hint first, and an id on every event', async () => {
    const reader = await SseReader.open(`${running.baseUrl}/v2/sse?username=framing`);
    expect(reader.status).toBe(200);
    expect(reader.headers?.['content-type']).toBe('text/event-stream');
    expect(reader.headers?.['cache-control']).toContain('no-cache');
    expect(reader.headers?.['x-accel-buffering']).toBe('no');
    expect(reader.headers?.['content-encoding']).toBeUndefined();
    await post(`${running.baseUrl}/v2/message?username=framing`, 'one');
    await post(`${running.baseUrl}/v2/message?username=framing`, 'two');
    const events = await reader.waitForEvents(2);
    expect(reader.retry).toBe(100);
    expect(reader.raw.indexOf('retry: 100\n')).toBeLessThan(reader.raw.indexOf('data: one'));
    expect(events.map((event) => event.data)).toEqual(['one', 'two']);
    expect(events.every((event) => typeof event.id === 'string' && event.id.length > 0)).toBe(true);
    expect(events[0].id).not.toBe(events[1].id);
    reader.close();
  });

  it.each([
    [
      'LF',
      'first\nid: 666\nevent: evil\nretry: 1\n\ndata: forged',
      'first\nid: 666\nevent: evil\nretry: 1\n\ndata: forged',
    ],
    ['CRLF', 'first\r\nid: 666\r\n\r\ndata: forged', 'first\nid: 666\n\ndata: forged'],
    ['CR', 'first\rid: 666\r\rdata: forged', 'first\nid: 666\n\ndata: forged'],
  ])(
    'keeps a message with %s line breaks as one event: no injected fields or events',
    async (_name, message, expected) => {
      const user = `inject-${_name}`;
      const reader = await SseReader.open(`${running.baseUrl}/v2/sse?username=${user}`);
      const answer = await post(`${running.baseUrl}/v2/message?username=${user}`, message, 'text/plain');
      expect(answer.status).toBe(201);
      await post(`${running.baseUrl}/v2/message?username=${user}`, 'after', 'text/plain');
      const events = await reader.waitForEvents(2);
      expect(events).toHaveLength(2);
      expect(events[0].data).toBe(expected);
      expect(events[0].type).toBeUndefined();
      expect(events[0].id).toBe(JSON.parse(answer.text).id);
      expect(reader.retry).toBe(100);
      // On the wire every line of the message is a data line of its own.
      const lines = expected
        .split('\n')
        .map((line) => `data: ${line}\n`)
        .join('');
      expect(reader.raw).toContain(lines);
      reader.close();
    },
  );

  it('delivers the same text to a browser-style EventSource client, JSON body included', async () => {
    const source = new EventSource(`${running.baseUrl}/v2/sse?username=es-user`);
    const received: MessageEvent[] = [];
    source.onmessage = (event) => received.push(event);
    await new Promise<void>((resolve) => (source.onopen = () => resolve()));
    const text = 'multi\nline ✓ \u0000 and "quotes"';
    const answer = await fetch(`${running.baseUrl}/v2/message?username=es-user`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ message: text }),
    });
    expect(answer.status).toBe(201);
    await waitUntil(() => received.length === 1, 'the EventSource got the message');
    expect(received[0].data).toBe(text);
    expect(received[0].lastEventId).toBe(((await answer.json()) as { id: string }).id);
    source.close();
  });

  it('answers HEAD on a stream with the headers only', async () => {
    const answer = await fetch(`${running.baseUrl}/v2/sse?username=head`, { method: 'HEAD' });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toBe('text/event-stream');
    expect(await answer.text()).toBe('');
  });
});
