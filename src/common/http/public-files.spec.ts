import express from 'express';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { publicFiles } from './public-files';

describe(publicFiles.name, () => {
  const sut = publicFiles;
  let root: string;
  let server: http.Server;
  let port: number;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'public-files-'));
    writeFileSync(join(root, 'index.html'), '<p>home</p>');
    writeFileSync(join(root, 'app.js'), 'run()');
    mkdirSync(join(root, 'docs'));
    writeFileSync(join(root, 'docs', 'index.html'), '<p>docs</p>');
    const app = express();
    app.use(sut(root));
    app.use((_request, response) => {
      response.status(404).send('route');
    });
    server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    rmSync(root, { recursive: true, force: true });
  });

  const get = (path: string, method = 'GET'): Promise<{ status: number; body: string }> =>
    new Promise((resolve, reject) => {
      http
        .request({ host: '127.0.0.1', port, path, method, agent: false }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (s: string) => (body += s));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        })
        .on('error', reject)
        .end();
    });

  it.each([
    ['/', '<p>home</p>'],
    ['/index.html', '<p>home</p>'],
    ['/app.js?v=2', 'run()'],
    ['/docs/', '<p>docs</p>'],
    ['/%61pp.js', 'run()'],
  ])('serves %s', async (path, body) => {
    expect(await get(path)).toEqual({ status: 200, body });
  });

  it.each([['/v2/sse?username=ada'], ['/missing.js'], ['/../package.json'], ['/%E0%A4%A']])(
    'passes %s on to the routes',
    async (path) => {
      expect(await get(path)).toEqual({ status: 404, body: 'route' });
    },
  );

  it('passes other methods on, even for a file', async () => {
    expect(await get('/app.js', 'POST')).toEqual({ status: 404, body: 'route' });
  });

  it('passes other paths on at once, without looking at the file system', () => {
    const next = jest.fn();
    sut(root)(
      { method: 'GET', url: '/v2/sse?username=ada' } as express.Request,
      {} as express.Response,
      next,
    );
    expect(next).toHaveBeenCalledTimes(1); // synchronously: a file-system lookup would answer later
  });
});
