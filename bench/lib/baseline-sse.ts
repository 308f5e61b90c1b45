/**
 * What the plain node:http servers (baseline-server.ts, baseline-kafka-consumer.ts) share: a JSON answer,
 * an SSE stream's head and frames, each user's open streams, and how they listen.
 */
import * as http from 'node:http';

export function reply(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** One event: `id: <id>`, then one `data:` line per line of the text. */
export function frame(id: string, text: string): string {
  let out = `id: ${id}\n`;
  for (const line of text.split('\n')) {
    out += `data: ${line}\n`;
  }
  return out + '\n';
}

/** The stream's head and its retry block. */
export function openStream(res: http.ServerResponse): void {
  res.writeHead(200, {
    'Content-Type': 'text/event-stream',
    'Cache-Control': 'no-cache',
    Connection: 'keep-alive',
    'X-Accel-Buffering': 'no',
  });
  res.write('retry: 3000\n\n');
}

/** Answers one route; `url` is the request's, parsed. */
export type Route = (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => void;

/** Answers `<METHOD> <path>` from `routes`, GET /health with 200 {"status":"ok"}, anything else with 404. */
export function routedServer(routes: Record<string, Route>): http.Server {
  return http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const route = `${req.method ?? 'GET'} ${url.pathname}`;
    const answer = routes[route];
    if (answer) {
      answer(req, res, url);
    } else if (route === 'GET /health') {
      reply(res, 200, { status: 'ok' });
    } else {
      reply(res, 404, { error: 'not found' });
    }
  });
}

/** The `username` query parameter, or null after answering 400 without one. */
export function usernameOf(url: URL, res: http.ServerResponse): string | null {
  const user = url.searchParams.get('username');
  if (!user) {
    reply(res, 400, { error: 'username required' });
    return null;
  }
  return user;
}

/** Each user's open streams; a stream leaves its set when it closes. */
export class UserStreams {
  private readonly byUser = new Map<string, Set<http.ServerResponse>>();

  /** GET ...?username=NAME: that user's stream (400 without a name). */
  readonly open: Route = (_req, res, url) => {
    const user = usernameOf(url, res);
    if (user !== null) {
      openStream(res);
      this.add(user, res);
    }
  };

  add(user: string, res: http.ServerResponse): void {
    let set = this.byUser.get(user);
    if (!set) {
      set = new Set();
      this.byUser.set(user, set);
    }
    set.add(res);
    res.on('close', () => {
      set.delete(res);
      if (set.size === 0 && this.byUser.get(user) === set) {
        this.byUser.delete(user);
      }
    });
  }

  of(user: string): Set<http.ServerResponse> | undefined {
    return this.byUser.get(user);
  }

  endAll(): void {
    for (const set of this.byUser.values()) {
      for (const res of set) {
        res.end();
      }
    }
  }
}

/** Listens on PORT (3000) and HOST (127.0.0.1), then says so on stderr as one JSON line. */
export function listen(server: http.Server, name: string, extra: Record<string, unknown> = {}): void {
  const port = Number(process.env.PORT ?? 3000);
  const host = process.env.HOST ?? '127.0.0.1';
  server.listen(port, host, () => {
    process.stderr.write(`${JSON.stringify({ msg: 'listening', server: name, host, port, ...extra })}\n`);
  });
}
