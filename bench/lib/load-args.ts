/** What every load generator is told: the scenario, the server under test, how to open streams. */
export interface LoadTarget {
  scenario: string;
  target: string;
  host: string;
  port: number;
  /** The server's process, for its CPU and RSS from /proc (0 = unknown). */
  serverPid: number;
}

/** A load that drives users at a rate for a window, then waits a grace period for the last events. */
export interface PacedLoadArgs extends LoadTarget {
  /** Users, one stream each. */
  users: number;
  /** Operations per second, over all users. */
  rate: number;
  /** Length of the measured window. */
  seconds: number;
  /** Load before the measured window (checked, not in the latency figures). */
  warmupSeconds: number;
  /** How long to wait after the last operation for the last events. */
  graceSeconds: number;
  connectConcurrency: number;
}

/** The load generator's arguments for a server started on 127.0.0.1. */
export function loadTarget(
  scenario: string,
  target: string,
  server: { port: number; child: { pid?: number } },
): LoadTarget {
  return { scenario, target, host: '127.0.0.1', port: server.port, serverPid: server.child.pid ?? 0 };
}
