/**
 * How many replays one user's connections read at once. A replay a client does not read still
 * costs what the kernel's socket buffers take (megabytes) plus the connection's buffer bound, and
 * a token may open streams without a per-user cap (broadcast, kafka:) and many of them on one
 * connection: without this, one token opening hundreds of connections that ask for history and
 * never read costs hundreds of times that. The others wait their turn, in order, with their
 * replay deadline running; a turn ends when the replay is read or the connection closes.
 */
export class ReplayLimiter {
  /** Per user: replays being read, and the connections waiting for a turn, in order. */
  private readonly users = new Map<string, { reading: number; waiting: (() => void)[] }>();

  constructor(private readonly maxPerUser: number) {}

  /** True when `user` may read a replay now; otherwise `granted` is called when it may. */
  acquire(user: string, granted: () => void): boolean {
    let entry = this.users.get(user);
    if (entry === undefined) {
      entry = { reading: 0, waiting: [] };
      this.users.set(user, entry);
    }
    if (entry.reading < this.maxPerUser) {
      entry.reading++;
      return true;
    }
    entry.waiting.push(granted);
    return false;
  }

  /** Ends a turn that was granted: the next connection waiting, if any, gets it. */
  release(user: string): void {
    const entry = this.users.get(user);
    if (entry === undefined) {
      return;
    }
    const next = entry.waiting.shift();
    if (next !== undefined) {
      next();
      return;
    }
    if (--entry.reading <= 0) {
      this.users.delete(user);
    }
  }

  /** A connection that waited for a turn gives up (it closed). */
  withdraw(user: string, granted: () => void): void {
    const entry = this.users.get(user);
    const index = entry?.waiting.indexOf(granted) ?? -1;
    if (entry !== undefined && index >= 0) {
      entry.waiting.splice(index, 1);
    }
  }

  /** Users holding or waiting for a turn: for leak checks. */
  get size(): number {
    return this.users.size;
  }
}
