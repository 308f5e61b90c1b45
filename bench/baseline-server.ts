/**
 * Plain node:http SSE server: the reference the gateway is compared against.
 *
 * It implements exactly the four routes of the gateway's HTTP contract (plus /health) in the simplest
 * honest way: every published event is formatted once and then written with `res.write()` to each open
 * stream, one call per client, no batching, no corking, no backpressure handling. Nothing else (no auth, no limits,
 * no heartbeats, no metrics).
 *
 *   GET  /events                     broadcast stream (retry block, then `data: connected`, then broadcasts)
 *   POST /events                     text/plain body -> broadcast to every /events stream, answers 201
 *   GET  /v2/sse?username=NAME       that user's stream
 *   POST /v2/message?username=NAME   text/plain body -> every open stream of that user, answers 201
 *   GET  /health                     200 {"status":"ok"}
 *
 * Env: PORT (default 3000), HOST (default 127.0.0.1).
 */
import * as http from 'node:http';

const MAX_BODY_BYTES = 64 * 1024;

const broadcastClients = new Set<http.ServerResponse>();
const userClients = new Map<string, Set<http.ServerResponse>>();
let lastId = 0;

function frame(text: string): string {
  lastId += 1;
  let out = `id: ${lastId}\n`;
  for (const line of text.split('\n')) {
    out += `data: ${line}\n`;
  }
  return out + '\n';
}

function openStream(res: http.ServerResponse): void {
  res.writeHead(200, {
    'Content-Type': 'text/event-stream',
    'Cache-Control': 'no-cache',
    Connection: 'keep-alive',
    'X-Accel-Buffering': 'no',
  });
  res.write('retry: 3000\n\n');
}

function reply(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function readBody(req: http.IncomingMessage, res: http.ServerResponse, onBody: (text: string) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      tooLarge = true;
      return;
    }
    chunks.push(chunk);
  });
  req.on('end', () => {
    if (tooLarge) {
      reply(res, 413, { error: 'payload too large' });
      return;
    }
    onBody(Buffer.concat(chunks).toString('utf8'));
  });
}

/** The `username` query parameter, or null after answering 400 without one. */
function usernameOf(url: URL, res: http.ServerResponse): string | null {
  const user = url.searchParams.get('username');
  if (!user) {
    reply(res, 400, { error: 'username required' });
    return null;
  }
  return user;
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const route = `${req.method ?? 'GET'} ${url.pathname}`;
  switch (route) {
    case 'GET /health':
      reply(res, 200, { status: 'ok' });
      return;
    case 'GET /events': {
      openStream(res);
      res.write(frame('connected'));
      broadcastClients.add(res);
      res.on('close', () => broadcastClients.delete(res));
      return;
    }
    case 'POST /events':
      readBody(req, res, (text) => {
        const f = frame(text);
        for (const client of broadcastClients) {
          client.write(f);
        }
        reply(res, 201, { delivered: broadcastClients.size });
      });
      return;
    case 'GET /v2/sse': {
      const user = usernameOf(url, res);
      if (user === null) {
        return;
      }
      openStream(res);
      let set = userClients.get(user);
      if (!set) {
        set = new Set();
        userClients.set(user, set);
      }
      set.add(res);
      res.on('close', () => {
        const s = userClients.get(user);
        if (s) {
          s.delete(res);
          if (s.size === 0) {
            userClients.delete(user);
          }
        }
      });
      return;
    }
    case 'POST /v2/message': {
      const user = usernameOf(url, res);
      if (user === null) {
        return;
      }
      readBody(req, res, (text) => {
        const set = userClients.get(user);
        const f = frame(text);
        if (set) {
          for (const client of set) {
            client.write(f);
          }
        }
        reply(res, 201, { delivered: set ? set.size : 0 });
      });
      return;
    }
    default:
      reply(res, 404, { error: 'not found' });
  }
});

function shutdown(): void {
  for (const res of broadcastClients) {
    res.end();
  }
  for (const set of userClients.values()) {
    for (const res of set) {
      res.end();
    }
  }
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 2000).unref();
}

process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);

const port = Number(process.env.PORT ?? 3000);
const host = process.env.HOST ?? '127.0.0.1';
server.listen(port, host, () => {
  process.stderr.write(`${JSON.stringify({ msg: 'listening', server: 'baseline-node-http', host, port })}\n`);
});
