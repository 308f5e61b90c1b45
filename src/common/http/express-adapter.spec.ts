import express from 'express';
import * as http from 'node:http';
import { AddressInfo, Socket } from 'node:net';
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
});
