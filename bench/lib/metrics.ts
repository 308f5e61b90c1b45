/** Reading the server under test over HTTP: a GET's text, one sample of its Prometheus /metrics. */
import * as http from 'node:http';

/** GET a path on the server under test: status and body, or null on a network error or timeout (2 s). */
export function fetchText(
  host: string,
  port: number,
  path: string,
): Promise<{ status: number; body: string } | null> {
  return new Promise((resolve) => {
    const req = http.get({ host, port, path, agent: false, timeout: 2000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (s: string) => {
        if (body.length < 1_000_000) {
          body += s;
        }
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', () => resolve(null));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(null));
  });
}

/**
 * One sample of a Prometheus text exposition, e.g. `sse_open_connections{stream="broadcast"}`: its value,
 * 0 if the server answered /metrics but has no such sample yet, null if it has no /metrics (baseline).
 */
export async function readMetric(host: string, port: number, sample: string): Promise<number | null> {
  const res = await fetchText(host, port, '/metrics');
  if (res === null || res.status !== 200) {
    return null;
  }
  for (const line of res.body.split('\n')) {
    if (line.startsWith(sample + ' ')) {
      const v = Number(line.slice(sample.length + 1).trim());
      return Number.isFinite(v) ? v : null;
    }
  }
  return 0;
}
