import express from 'express';
import * as http from 'node:http';
import { AddressInfo, Socket } from 'node:net';
import { parse } from 'node:querystring';
import { DrainingExpressAdapter } from './express-adapter';

/** The adapter's server on a free port, with the routes `setup` adds to its Express app. */
async function serve(
  setup: (app: express.Express) => void,
): Promise<{ port: number; stop: () => Promise<void>; server: http.Server }> {
  const sut = new DrainingExpressAdapter();
  sut.initHttpServer({});
  setup(sut.getInstance<express.Express>());
  const server = sut.getHttpServer() as http.Server;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    server,
    stop: async () => {
      await sut.close();
    },
  };
}

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (s: string) => (body += s));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

describe(DrainingExpressAdapter.name, () => {
  it('checks request timeouts every second: headers that stall get 408 about a second past headersTimeout, not 30 s', async () => {
    const { port, stop, server } = await serve((app) => app.get('/', (request, response) => response.end()));
    server.headersTimeout = 500;
    server.requestTimeout = 1000;
    const socket = new Socket();
    try {
      const started = Date.now();
      let answer = '';
      socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
      const closed = new Promise<number>((resolve) =>
        socket.once('close', () => resolve(Date.now() - started)),
      );
      socket.connect(port, '127.0.0.1', () => socket.write('GET / HTTP/1.1\r\nHost: x\r\nX-Half: '));
      const after = await closed;
      expect(answer).toMatch(/^HTTP\/1\.1 408/);
      expect(after).toBeLessThan(3_000); // Node's default check interval is 30 s
    } finally {
      socket.destroy();
      await stop();
    }
  });

  it('sends flushed headers and what the answer writes in the same turn in one write', async () => {
    const writesPerSocket = new Map<Socket, number>();
    // Every write that reaches the kernel (a plain write or a gathered writev) passes through here.
    const proto = Socket.prototype as unknown as { _writeGeneric: (...args: unknown[]) => unknown };
    const original = proto._writeGeneric;
    const spy = jest.spyOn(proto, '_writeGeneric').mockImplementation(function (this: Socket, ...args) {
      writesPerSocket.set(this, (writesPerSocket.get(this) ?? 0) + 1);
      return original.apply(this, args);
    });
    let served: Socket | null = null;
    const { port, stop } = await serve((app) => {
      app.get('/stream', (request, response) => {
        served = request.socket;
        response.writeHead(200, { 'Content-Type': 'text/event-stream' });
        response.flushHeaders();
        response.write('retry: 1000\n\n');
        setTimeout(() => response.end('data: last\n\n'), 20);
      });
    });
    try {
      const answer = await get(port, '/stream');
      expect(answer).toEqual({ status: 200, body: 'retry: 1000\n\ndata: last\n\n' });
      // headers + first bytes, then the end (not: headers, first bytes, end)
      expect(served).not.toBeNull();
      expect(writesPerSocket.get(served as unknown as Socket)).toBe(2);
    } finally {
      spy.mockRestore();
      await stop();
    }
  });

  it("parses a request's query once, however often it is read", async () => {
    let parsed = 0;
    const { port, stop } = await serve((app) => {
      app.set('query parser', (query: string) => {
        parsed++;
        return parse(query);
      });
      app.get('/q', (request, response) => {
        const reads = [request.query, request.query, request.query];
        response.json({ user: reads[2].user, same: reads[0] === reads[1] });
      });
    });
    try {
      const answer = await get(port, '/q?user=ada');
      expect(JSON.parse(answer.body)).toEqual({ user: 'ada', same: true });
      expect(parsed).toBe(1);
      await get(port, '/q?user=bob');
      expect(parsed).toBe(2); // each request its own
    } finally {
      await stop();
    }
  });
});
