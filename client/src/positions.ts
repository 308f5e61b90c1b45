/**
 * How the positions of one stream compare, so a hub can tell whether an event was delivered
 * already (across a reconnect, a change of the list of streams, a token renewal or a new leader
 * tab). A position is the id the stream's own route gives its events; the gateway makes three
 * kinds, all increasing along a stream:
 *
 * - `<epoch>-<offset>`: a topic of the in-memory bus (v2, v3, broadcast, temperature, kafka). The
 *   epoch names the run of the server; offsets of one epoch are integers that grow by record.
 * - `<offset>.<offset>…`: a topic of the Kafka bus, one offset per partition. An event's own
 *   partition moves forward; an event at or before another in every partition was delivered first.
 * - `<decimal>`: a report event (its database id, increasing per user in commit order). This is the
 *   one-partition case of the Kafka form and compares the same way.
 *
 * Positions of different kinds, epochs or partition counts do not compare: the server restarted or
 * the topic changed, and the server says so with a `history-gap` of its own. Such an event is
 * delivered, never dropped.
 */

const TOPIC_LOG = /^(.+)-(\d{1,16})$/;
const VECTOR = /^\d{1,16}(\.\d{1,16})*$/;

/** Whether an event at `position` comes after `last` (the last position delivered of its stream). */
export function isAfter(position: string, last: string | undefined): boolean {
  if (last === undefined || last === '') {
    return true;
  }
  const order = comparePositions(position, last);
  return order === undefined || order > 0;
}

/**
 * -1, 0 or 1 as `a` comes before, at or after `b`; undefined when they are not positions of one
 * run of one stream. Vectors compare by partition: after when no partition is behind and one is ahead.
 */
export function comparePositions(a: string, b: string): -1 | 0 | 1 | undefined {
  if (a === b) {
    return 0;
  }
  if (VECTOR.test(a) && VECTOR.test(b)) {
    const left = a.split('.').map(BigInt);
    const right = b.split('.').map(BigInt);
    if (left.length !== right.length) {
      return undefined;
    }
    const ahead = left.some((offset, i) => offset > right[i]);
    const behind = left.some((offset, i) => offset < right[i]);
    if (ahead && !behind) {
      return 1;
    }
    if (behind && !ahead) {
      return -1;
    }
    // Ahead in one partition and behind in another: positions read by two instances in another
    // interleaving. Not the same event, so it counts as after (delivered, not dropped).
    return ahead ? 1 : 0;
  }
  const left = TOPIC_LOG.exec(a);
  const right = TOPIC_LOG.exec(b);
  if (left && right && left[1] === right[1]) {
    const x = BigInt(left[2]);
    const y = BigInt(right[2]);
    return x > y ? 1 : x < y ? -1 : 0;
  }
  return undefined;
}

/** The last position delivered of each carried stream that has one (what Hub.positions() answers). */
export function positionsOf(
  carried: ReadonlyMap<string, { readonly position?: string }>,
): Record<string, string> {
  const positions: Record<string, string> = {};
  for (const [stream, entry] of carried) {
    if (entry.position !== undefined) {
      positions[stream] = entry.position;
    }
  }
  return positions;
}
