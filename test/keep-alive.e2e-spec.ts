import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { post, RunningApp, startApp } from './support/app';
import { SseReader } from './support/sse-reader';

jest.setTimeout(30_000);

const run = promisify(execFile);

/** The blocks of a stream's body as written: `hi` for v1's beat, `keep-alive` for its comment, else the block. */
const blocksOf = (body: string) =>
  body
    .split('\n\n')
    .filter((block) => block !== '')
    .map((block) => (/^id: \d+\ndata: hi!$/.test(block) ? 'hi' : block));

describe('keep-alive comments: only after an interval with no other write', () => {
  describe('v1 (HEARTBEAT_INTERVAL_MS=2000, HEARTBEAT_KEEPALIVE_MS=400)', () => {
    let running: RunningApp;

    beforeAll(async () => {
      running = await startApp({ HEARTBEAT_INTERVAL_MS: '2000', HEARTBEAT_KEEPALIVE_MS: '400' });
    });
    afterAll(() => running.close());

    it('sends what the reference shows: data: hi!, four keep-alives, data: hi!, four keep-alives, …', async () => {
      // A real curl, as the reference shows it; 4.5 s: three beats (at 0, 2 and 4 s).
      const { stdout } = await run(
        'bash',
        ['-c', `timeout 4.5 curl -sN "http://127.0.0.1:${running.port}/v1/sse?username=demo"; true`],
        { encoding: 'utf8' },
      );
      // Nest's writer may put its `: stream open` comment before or after the retry hint.
      const openings = ['\n: stream open\n\nretry: 100\n\n', '\nretry: 100\n\n: stream open\n\n'];
      const opening = stdout.slice(0, openings[0].length); // both are as long
      expect(openings).toContain(opening);
      const blocks = blocksOf(stdout.slice(opening.length));
      const last = blocks.lastIndexOf('hi');
      const keepAlives = Array<string>(4).fill(': keep-alive-text');
      expect(blocks.slice(0, last + 1)).toEqual(['hi', ...keepAlives, 'hi', ...keepAlives, 'hi']);
      expect(blocks.slice(last + 1).every((block) => block === ': keep-alive-text')).toBe(true);
    });
  });

  describe('busy streams (keep-alive intervals of 500 ms, an event about every 100 ms)', () => {
    let running: RunningApp;

    beforeAll(async () => {
      running = await startApp({ EVENTS_KEEPALIVE_MS: '500', BROADCAST_PING_MS: '500' });
    });
    afterAll(() => running.close());

    it('carry no keep-alive while events come, on v2, /events and GET /sse, and get one once they stop', async () => {
      const user = `busy-${Date.now().toString(36)}`;
      const readers = {
        v2: await SseReader.open(`${running.baseUrl}/v2/sse?username=${user}`),
        events: await SseReader.open(`${running.baseUrl}/events`),
        multiplex: await SseReader.open(
          `${running.baseUrl}/sse?stream=broadcast&stream=${encodeURIComponent(`v2:${user}`)}`,
        ),
      };
      const comments = { v2: 'keep-alive-text', events: 'ping', multiplex: 'keep-alive' };
      for (let i = 0; i < 40; i++) {
        // Each stream carries one of the two every 100 ms; the multiplexed one both.
        const [path, body] = i % 2 === 0 ? [`/v2/message?username=${user}`, `m${i}`] : ['/events', `b${i}`];
        expect((await post(`${running.baseUrl}${path}`, body, 'text/plain')).status).toBe(201);
        await new Promise((resolve) => setTimeout(resolve, i % 2 === 0 ? 0 : 100));
      }
      const during = Object.fromEntries(
        Object.entries(readers).map(([name, reader]) => [name, [...reader.comments]]),
      );
      await new Promise((resolve) => setTimeout(resolve, 1000));
      for (const [name, reader] of Object.entries(readers)) {
        const comment = comments[name as keyof typeof comments];
        expect({ name, during: during[name].filter((text) => text === comment) }).toEqual({
          name,
          during: [],
        });
        expect({ name, after: reader.comments.includes(comment) }).toEqual({ name, after: true });
        reader.close();
      }
    });
  });
});
