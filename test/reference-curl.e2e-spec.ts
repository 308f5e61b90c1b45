import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { RunningApp, startApp } from './support/app';
import { SseReader } from './support/sse-reader';

const run = promisify(execFile);

/**
 * The curl commands of the reference READMEs (v1, v2) and of the broadcaster tutorial, run
 * verbatim by a real curl; only the port differs.
 */
describe('reference curl commands', () => {
  let running: RunningApp;

  beforeAll(async () => {
    running = await startApp({ HEARTBEAT_INTERVAL_MS: '150', HEARTBEAT_KEEPALIVE_MS: '50' });
  });
  afterAll(() => running.close());

  /** Runs a command line as a shell would, with the reference port 3000 pointed at the test app. */
  const shell = async (command: string, seconds?: number) => {
    const line = command.replace(/:3000\b/g, `:${running.port}`);
    const wrapped = seconds === undefined ? line : `timeout ${seconds} ${line}; true`;
    const { stdout } = await run('bash', ['-c', wrapped], { encoding: 'utf8' });
    return stdout;
  };

  it('v1: curl -N streams "data: hi!" and keep-alive comments', async () => {
    const out = await shell('curl -sN "http://localhost:3000/v1/sse?username=demo"', 1);
    expect(out).toContain('data: hi!\n');
    expect(out).toContain(': keep-alive-text\n');
    expect(out).toMatch(/id: \d+\ndata: hi!\n\n/);
  });

  it('v2: the raw form body "Howdy 🤠 from version 2️⃣" arrives byte for byte', async () => {
    const reader = await SseReader.open(`${running.baseUrl}/v2/sse?username=demo`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const answer = await shell(
      'curl -s -X POST "http://localhost:3000/v2/message?username=demo" -d "Howdy 🤠 from version 2️⃣"',
    );
    expect(JSON.parse(answer)).toEqual({ id: expect.any(String) });
    const [event] = await reader.waitForEvents(1);
    expect(event.data).toBe('Howdy 🤠 from version 2️⃣');
    expect(Buffer.from(event.data, 'utf8').equals(Buffer.from('Howdy 🤠 from version 2️⃣', 'utf8'))).toBe(
      true,
    );
    reader.close();
  });

  it('v2: curl -N on the stream shows what curl -d sent, to that user only', async () => {
    const listening = shell('curl -sN "http://localhost:3000/v2/sse?username=demo"', 1.5);
    const other = await SseReader.open(`${running.baseUrl}/v2/sse?username=someone-else`);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await shell(
      'curl -s -X POST "http://localhost:3000/v2/message?username=demo" -d "Howdy 🤠 from version 2️⃣"',
    );
    const out = await listening;
    expect(out).toMatch(/id: \S+\ndata: Howdy 🤠 from version 2️⃣\n\n/);
    expect(other.events).toEqual([]);
    other.close();
  });

  it('broadcaster: curl /events gets "data: connected", then what curl /events/<msg> and POST /events send', async () => {
    const listening = shell('curl -sN localhost:3000/events', 1.5);
    const trailing = shell('curl -sN localhost:3000/events/', 1.5);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await shell('curl -s localhost:3000/events/hello')).toBe('msg sent');
    await shell("curl -s -X POST localhost:3000/events -d 'hi everyone'");
    for (const out of [await listening, await trailing]) {
      const data = [...out.matchAll(/^data: (.*)$/gm)].map((match) => match[1]);
      expect(data).toEqual(['connected', 'hello', 'hi everyone']);
    }
  });
});
