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

import { frame, listen, openStream, reply, routedServer, UserStreams, usernameOf } from './lib/baseline-sse';

const MAX_BODY_BYTES = 64 * 1024;

const broadcastClients = new Set<http.ServerResponse>();
const userClients = new UserStreams();
let lastId = 0;

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

/** The next broadcast or user event, its id one more than the last. */
const nextFrame = (text: string): string => frame(String(++lastId), text);

const server = routedServer({
  'GET /events': (_req, res) => {
    openStream(res);
    res.write(nextFrame('connected'));
    broadcastClients.add(res);
    res.on('close', () => broadcastClients.delete(res));
  },
  'POST /events': (req, res) =>
    readBody(req, res, (text) => {
      const f = nextFrame(text);
      for (const client of broadcastClients) {
        client.write(f);
      }
      reply(res, 201, { delivered: broadcastClients.size });
    }),
  'GET /v2/sse': userClients.open,
  'POST /v2/message': (req, res, url) => {
    const user = usernameOf(url, res);
    if (user === null) {
      return;
    }
    readBody(req, res, (text) => {
      const set = userClients.of(user);
      const f = nextFrame(text);
      if (set) {
        for (const client of set) {
          client.write(f);
        }
      }
      reply(res, 201, { delivered: set ? set.size : 0 });
    });
  },
});

function shutdown(): void {
  for (const res of broadcastClients) {
    res.end();
  }
  userClients.endAll();
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 2000).unref();
}

process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);

listen(server, 'baseline-node-http');
