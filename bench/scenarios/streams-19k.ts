/**
 * streams-19k: 19,000 /events streams (BENCH_MAX_STREAMS: as many as the 20,000 open files a process may
 * have here allow): time to open them, RSS per stream after they idled, server CPU per keep-alive round
 * while idle, then broadcast-10k's broadcast to all of them.
 */
import { fmt, openedNote } from '../lib/summary';
import { broadcastPlan } from './broadcast-10k';
import { openTimeRatio } from './open-10k';
import { sseScenario } from './sse-scenario';

export default sseScenario({
  name: 'streams-19k',
  plan: broadcastPlan,
  connections: (settings) => settings.maxStreams,
  keepAlive: true,
  ratios: [
    { label: 'deliveries/s', higherIsBetter: true, of: (r) => r.events_per_s },
    openTimeRatio,
    { label: 'idle RSS/stream', higherIsBetter: false, of: (r) => r.server_rss_kb_per_conn_settled },
  ],
  notes: (results) => {
    for (const r of results) {
      process.stderr.write(
        `  streams-19k ${String(r.target)}: ${openedNote(r)}; RSS per stream ${fmt(r.server_rss_kb_per_conn, 1)} kB 2 s after, ` +
          `${fmt(r.server_rss_kb_per_conn_settled, 1)} kB after ${fmt(r.server_idle_seconds)} s idle ` +
          `(server RSS ${fmt(r.server_rss_mb_settled, 1)} MB); idle CPU ${fmt(r.idle_server_cpu_ms)} ms` +
          (typeof r.idle_cpu_ms_per_keepalive_round === 'number'
            ? ` = ${fmt(r.idle_cpu_ms_per_keepalive_round, 1)} ms per keep-alive round (every ${fmt(r.keepalive_ms)} ms)`
            : '') +
          `; broadcast ${fmt(r.events_per_s)} deliveries/s, lost ${fmt(r.lost)}\n`,
      );
    }
  },
});
