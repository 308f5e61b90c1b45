/** HTTP requests of the load generators to the server under test (the streams are in stream-pool.ts). */
import * as http from 'node:http';
import type * as net from 'node:net';

/** A keep-alive agent with Nagle off on its sockets. */
export function noDelayAgent(maxSockets: number): http.Agent {
  // The agent hands its options to net.createConnection, which takes noDelay (not listed on AgentOptions).
  const options: http.AgentOptions & net.SocketConstructorOpts = {
    keepAlive: true,
    maxSockets,
    noDelay: true,
  };
  return new http.Agent(options);
}

export interface Answer {
  status: number;
  body: string;
}

/**
 * One request through `agent` with an optional JSON body; resolves with the status and body, rejects on a
 * socket error. `onWritten` runs just before the request is written.
 */
export function request(
  agent: http.Agent,
  target: { host: string; port: number },
  method: string,
  path: string,
  body: string | null,
  onWritten?: () => void,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: target.host,
        port: target.port,
        method,
        path,
        agent,
        headers:
          body === null
            ? {}
            : { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (s: string) => {
          text += s;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    onWritten?.();
    req.end(body ?? undefined);
  });
}
