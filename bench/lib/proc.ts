/** Readings of /proc: a process's memory and CPU time, the whole machine's busy time. */
import * as fs from 'node:fs';

import { mb } from './stats';

/** Linux clock ticks per second for /proc/<pid>/stat (USER_HZ); 100 on every mainstream Linux build. */
const CLK_TCK = 100;

/** A /proc file's text, or null when it is gone (the process exited). */
function readText(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

export interface ProcMem {
  rssKb: number;
  hwmKb: number;
}

/** VmRSS and VmHWM (peak RSS) of a process in kB, or null if the process is gone. */
export function readProcMem(pid: number): ProcMem | null {
  const text = readText(`/proc/${pid}/status`);
  if (text === null) {
    return null;
  }
  const rss = /^VmRSS:\s+(\d+)\s+kB/m.exec(text);
  const hwm = /^VmHWM:\s+(\d+)\s+kB/m.exec(text);
  if (!rss) {
    return null;
  }
  return { rssKb: Number(rss[1]), hwmKb: hwm ? Number(hwm[1]) : Number(rss[1]) };
}

/** user+system CPU time of a process in milliseconds, or null if the process is gone. */
export function readProcCpuMs(pid: number): number | null {
  const text = readText(`/proc/${pid}/stat`);
  if (text === null) {
    return null;
  }
  // Fields after the command name (which may itself contain spaces and parentheses).
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) {
    return null;
  }
  return ((utime + stime) * 1000) / CLK_TCK;
}

/** Busy CPU time of the whole machine (all cores, from /proc/stat) in milliseconds, or null. */
export function readMachineBusyMs(): number | null {
  const text = readText('/proc/stat');
  if (text === null) {
    return null;
  }
  const line = text.slice(0, text.indexOf('\n')).split(/\s+/);
  if (line[0] !== 'cpu') {
    return null;
  }
  // user nice system idle iowait irq softirq steal ...: busy = all but idle and iowait
  let busy = 0;
  for (let i = 1; i < line.length; i++) {
    if (i !== 4 && i !== 5) {
      busy += Number(line[i]) || 0;
    }
  }
  return (busy * 1000) / CLK_TCK;
}

/**
 * A warning when the bench runs on another Node than the service's (24): its servers run on this
 * process's Node, and on Node 20 a publish costs the gateway about twice the CPU.
 */
export function nodeVersionWarning(): string | undefined {
  const major = Number(process.versions.node.split('.')[0]);
  return major >= 24
    ? undefined
    : `warning: running on Node ${process.version}, not the service's Node 24: figures differ (a publish costs ` +
        'the gateway about twice the CPU on Node 20). Run it through npm (`npm run bench`, or ' +
        '`npm exec -- node dist-bench/bench/run.js`) to use the Node that `npm ci` installed.';
}

/** The server's RSS before the streams opened, once they idled, after the load, and its peak, in MB. */
export function serverMemory(
  before: ProcMem | null,
  idle: ProcMem | null,
  after: ProcMem | null,
): Record<string, number | null> {
  return {
    server_rss_mb_before: mb(before?.rssKb),
    server_rss_mb_idle: mb(idle?.rssKb),
    server_rss_mb_after: mb(after?.rssKb),
    server_rss_mb_peak: mb(after?.hwmKb),
  };
}
