// How much CPU other processes took during a measurement, from /proc (Linux). On a 2-core
// machine the server and the load generator each need a core; anything else running
// (a build, a test suite) lowers the figures, so the report flags it instead of hiding it.
import { existsSync, readFileSync } from 'node:fs';

const available = existsSync('/proc/stat');

/** CPU ticks of process `pid` (user + system), or 0 when it is gone. */
function processTicks(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15)
  } catch {
    return 0;
  }
}

/** A snapshot of machine-wide and own (`pids`) CPU ticks, or null off Linux. */
export function cpuSnapshot(pids) {
  if (!available) return null;
  const ticks = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1, 9).map(Number);
  const total = ticks.reduce((a, b) => a + b, 0);
  const idle = ticks[3] + ticks[4];
  return { total, busy: total - idle, own: pids.reduce((sum, pid) => sum + processTicks(pid), 0) };
}

/** Cores' worth of CPU that processes other than `pids` used between two snapshots. */
export function otherCores(before, after, cpus) {
  if (before === null || after === null || after.total === before.total) return null;
  const others = after.busy - before.busy - (after.own - before.own);
  return Math.max(0, (others / (after.total - before.total)) * cpus);
}
