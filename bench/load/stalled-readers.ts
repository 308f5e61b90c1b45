/**
 * slow-readers' stalled readers: raw TCP sockets that send the GET /events request and never read (paused
 * from the start), so their kernel buffers and then the server's per-connection buffer fill. A stalled
 * socket the server closes is noticed on this side by 'end'/'close'/'error' or, since a paused socket
 * sees no FIN, by a probe: every 250 ms each stalled socket writes "\r\n" (an empty line, which an
 * HTTP/1.1 server ignores between requests), which the peer's kernel answers with a RST once the server
 * has closed its end; the following write then fails. Everything the stalled sockets make the server
 * buffer is bounded by warm-up + seconds.
 */
import * as net from 'node:net';

import { logStep, Tally } from '../lib/log';
import { round } from '../lib/stats';
import { nowNs, signal, sleep } from '../lib/time';

interface StalledReader {
  socket: net.Socket;
  connected: boolean;
  /** Why connecting failed, if it did. */
  failed: string | null;
  /** When this side noticed that the server had closed the connection (nowNs), and by what. */
  closedAtNs: number | null;
  closedHow: string | null;
}

const REQUEST = 'GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n';

export class StalledReaders {
  private readonly readers: StalledReader[] = [];
  private shuttingDown = false;
  private probe: NodeJS.Timeout | null = null;

  /** Opens `count` of them; resolves once each connected or failed (10 s at most), then probes them. */
  async open(host: string, port: number, count: number): Promise<void> {
    logStep(`opening ${count} stalled readers (GET /events, then never read)…`);
    let waiting = count;
    const allSettled = signal();
    for (let i = 0; i < count; i++) {
      const socket = net.connect({ host, port, noDelay: true });
      socket.pause(); // never resumed: this socket's receive buffer fills and stays full
      const s: StalledReader = { socket, connected: false, failed: null, closedAtNs: null, closedHow: null };
      this.readers.push(s);
      let counted = false;
      const settle = (): void => {
        if (!counted) {
          counted = true;
          if (--waiting === 0) {
            allSettled.fire();
          }
        }
      };
      socket.on('connect', () => {
        s.connected = true;
        socket.write(REQUEST);
        settle();
      });
      socket.on('end', () => this.noticeClosed(s, 'end'));
      socket.on('error', (err: NodeJS.ErrnoException) => {
        this.noticeClosed(s, err.code ?? 'error');
        settle();
      });
      socket.on('close', () => {
        this.noticeClosed(s, 'close');
        settle();
      });
    }
    await Promise.race([allSettled.done, sleep(10_000)]);
    this.probe = setInterval(() => this.probeAll(), 250);
    const failed = this.readers.filter((s) => !s.connected).length;
    logStep(
      `${count - failed}/${count} stalled readers connected` + (failed > 0 ? `, ${failed} failed` : ''),
    );
  }

  get openCount(): number {
    return this.readers.filter((s) => s.connected && s.closedAtNs === null).length;
  }

  get droppedCount(): number {
    return this.readers.filter((s) => s.closedAtNs !== null).length;
  }

  /** Keeps probing a little longer, so a stalled socket closed just now is noticed too; then stops. */
  async lastProbe(): Promise<void> {
    await sleep(750);
    if (this.probe) {
      clearInterval(this.probe);
    }
    this.probeAll();
  }

  close(): void {
    this.shuttingDown = true;
    for (const s of this.readers) {
      s.socket.destroy();
    }
  }

  /** The result fields; times are seconds from `windowStartNs`. */
  figures(windowStartNs: number, openAtPublish: number): Record<string, unknown> {
    const dropped = this.readers.filter((s) => s.closedAtNs !== null);
    const droppedAt = dropped.map((s) => ((s.closedAtNs ?? 0) - windowStartNs) / 1e9).sort((a, b) => a - b);
    const how = new Tally();
    for (const s of dropped) {
      how.add(s.closedHow ?? '?');
    }
    const connectFailures = new Tally();
    for (const s of this.readers) {
      if (s.failed !== null) {
        connectFailures.add(s.failed);
      }
    }
    return {
      stalled_connected: this.readers.filter((s) => s.connected).length,
      ...(connectFailures.size > 0 ? { stalled_connect_failed: connectFailures.counts } : {}),
      stalled_open_at_publish: openAtPublish,
      stalled_disconnected_by_server: dropped.length,
      stalled_still_open_at_end: this.readers.filter((s) => s.connected && s.closedAtNs === null).length,
      // how this side noticed: ECONNRESET/EPIPE = a probe write failed, end/close = the socket said so
      stalled_disconnect_noticed_by: how.counts,
      // seconds into the measured window (negative: during warm-up) when this side noticed; a probe
      // runs every 250 ms, so this is up to ~0.5 s after the server closed the connection
      stalled_disconnected_at_s:
        droppedAt.length === 0
          ? null
          : {
              first: round(droppedAt[0], 2),
              p50: round(droppedAt[Math.ceil(droppedAt.length / 2) - 1], 2),
              last: round(droppedAt[droppedAt.length - 1], 2),
            },
    };
  }

  private noticeClosed(s: StalledReader, how: string): void {
    if (this.shuttingDown || s.closedAtNs !== null || s.failed !== null) {
      return;
    }
    if (!s.connected) {
      s.failed = how;
      return;
    }
    s.closedAtNs = nowNs();
    s.closedHow = how;
  }

  // A paused socket reads nothing, so it never sees the server's FIN (which waits behind the unread
  // bytes anyway). Writing an empty line does: a server that still has the connection ignores it (an
  // HTTP/1.1 server skips blank lines before a request line), a kernel whose socket was closed answers
  // with a RST, and the next write fails (ECONNRESET/EPIPE -> 'error', then 'close').
  private probeAll(): void {
    for (const s of this.readers) {
      if (!s.connected || s.closedAtNs !== null) {
        continue;
      }
      if (s.socket.destroyed || s.socket.readyState !== 'open') {
        this.noticeClosed(s, `state_${s.socket.readyState}`);
      } else {
        s.socket.write('\r\n');
      }
    }
  }
}
