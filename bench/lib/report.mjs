// Figures over rounds (medians, with the req/s range), the ratios against the goals,
// the printed table, and results/latest.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RATIOS, RESULTS_DIR } from './config.mjs';

const fmt = (n, digits = 0) => (n === undefined || n === null || Number.isNaN(n) ? '-' : n.toLocaleString('en', { minimumFractionDigits: digits, maximumFractionDigits: digits }));
const ratioText = (value) => (value === null ? '-' : value.toFixed(value >= 10 ? 1 : 2));

function median(values) {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** One row per target: medians over its rounds, the req/s range, and whether every round was valid. */
export function summarizeTargets(targets, runs) {
  return targets.map((target) => {
    const mine = runs.filter((r) => r.id === target.id);
    const rps = mine.map((r) => r.reqPerSec);
    const others = mine.map((r) => r.otherCores).filter((v) => v !== null);
    const invalid = mine.find((r) => !r.valid);
    return {
      id: target.id,
      key: target.key,
      label: target.label,
      rounds: mine.length,
      reqPerSec: median(rps),
      reqPerSecMin: Math.min(...rps),
      reqPerSecMax: Math.max(...rps),
      latencyP50: median(mine.map((r) => r.latencyP50)),
      latencyP99: median(mine.map((r) => r.latencyP99)),
      serverCpuUsPerRequest: median(mine.map((r) => r.serverCpuUsPerRequest)),
      requests: mine.reduce((sum, r) => sum + r.requests, 0),
      otherCoresMax: others.length ? Math.max(...others) : null,
      valid: invalid === undefined,
      problem: invalid ? `round ${invalid.round}: ${invalid.problem}` : null,
    };
  });
}

/**
 * Each ratio is taken within a round (both targets measured minutes apart at most), then the
 * median over rounds is reported with its range. A round where either side was invalid is left out.
 */
export function computeRatios(runs, rounds) {
  return RATIOS.map((ratio) => {
    const values = [];
    const byCpu = [];
    for (let round = 1; round <= rounds; round++) {
      const a = runs.find((r) => r.round === round && r.key === ratio.of && r.valid);
      const b = runs.find((r) => r.round === round && r.key === ratio.over && r.valid);
      if (!a || !b) continue;
      values.push(a.reqPerSec / b.reqPerSec);
      // Less CPU per request = more req/s, hence inverted. Not for PostgreSQL, whose server's
      // CPU is not in the Node process.
      if (ratio.of !== 'd' && ratio.over !== 'd') byCpu.push(b.serverCpuUsPerRequest / a.serverCpuUsPerRequest);
    }
    const value = median(values);
    const verdict = value === null ? 'not measured' : ratio.goal === null ? 'reported' : value >= ratio.goal ? 'meets goal' : 'BELOW GOAL';
    return {
      name: ratio.name,
      value,
      min: values.length ? Math.min(...values) : null,
      max: values.length ? Math.max(...values) : null,
      perRound: values,
      byCpu: median(byCpu),
      goal: ratio.goal,
      verdict,
      meaning: ratio.meaning,
    };
  });
}

function check(r, settings) {
  if (!r.valid) return `INVALID: ${r.problem}`;
  if (r.otherCoresMax === null) return 'ok';
  const others = `others up to ${r.otherCoresMax.toFixed(2)} cores`;
  if (r.key === 'd') return `ok (${others}, incl. PostgreSQL)`;
  return r.otherCoresMax > settings.noisyCores ? `NOISY (${others})` : `ok (${others})`;
}

function table(rows, columns) {
  const widths = columns.map((c, i) => Math.max(c.length, ...rows.map((r) => r[i].length)));
  const line = (cells) => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ');
  return [line(columns), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function printReport(summary, ratios, settings) {
  console.log(
    `\nResults: median of ${settings.rounds} round(s); each round ${settings.warmup}s warm-up + ${settings.duration}s measured per target, ` +
      `${settings.connections} connections, ${settings.pool} session cookies cycled\n`,
  );
  console.log(
    table(
      summary.map((r) => [
        r.label,
        fmt(r.reqPerSec),
        r.rounds > 1 ? `${fmt(r.reqPerSecMin)}-${fmt(r.reqPerSecMax)}` : '-',
        fmt(r.latencyP50, 1),
        fmt(r.latencyP99, 1),
        fmt(r.serverCpuUsPerRequest, 1),
        check(r, settings),
      ]),
      ['target', 'req/s', 'range', 'p50 ms', 'p99 ms', 'CPU µs/req', 'check'],
    ),
  );
  console.log('');
  console.log(
    table(
      ratios.map((r) => [
        r.name,
        ratioText(r.value),
        r.perRound.length > 1 ? `${ratioText(r.min)}-${ratioText(r.max)}` : '-',
        r.goal === null ? '-' : `>= ${r.goal}`,
        r.verdict,
        ratioText(r.byCpu),
        r.meaning,
      ]),
      ['ratio', 'req/s', 'range', 'goal', 'verdict', 'by CPU/req', 'meaning'],
    ),
  );
  console.log('\nRatios are taken within each round, then the median over rounds. "by CPU/req" is the same ratio from the');
  console.log("server process's CPU time per request: less sensitive than req/s to other work on the machine, though not immune.");
  const bare = summary.find((r) => r.key === 'a' && r.valid);
  const limit = summary.find((r) => r.key === 'b' && r.valid);
  if (bare && limit) {
    const headroom = bare.reqPerSec / limit.reqPerSec;
    console.log(
      `\nLoad generator headroom: the same autocannon drove the bare route to ${headroom.toFixed(2)}x the hand-written check's rate` +
        (headroom >= 1.2 ? ', so (b)-(e) are limited by the server, not the generator.' : '; below 1.2x the generator may be the limit, so read c/b with care.'),
    );
  }
}

export function writeResults(report) {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const path = join(RESULTS_DIR, 'latest.json');
  writeFileSync(path, `${JSON.stringify(report, null, 2)}\n`);
  return path;
}
