// Everything a run can vary, read once from the environment, plus the list of targets.
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = fileURLToPath(new URL('..', import.meta.url));
export const DATA_DIR = fileURLToPath(new URL('../data/', import.meta.url));
export const RESULTS_DIR = fileURLToPath(new URL('../results/', import.meta.url));
export const GATEHOUSE_ENTRY = new URL('../../dist/src/index.js', import.meta.url);

function intFromEnv(name, fallback, min) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new Error(`${name}="${raw}" must be a whole number >= ${min}.`);
  return value;
}

export function readConfig() {
  const config = {
    /** Seconds measured per target, after the warm-up. */
    duration: intFromEnv('BENCH_DURATION', 10, 1),
    warmup: intFromEnv('BENCH_WARMUP', 3, 0),
    connections: intFromEnv('BENCH_CONNECTIONS', 50, 1),
    /** Each round runs every target once; figures are the median over rounds. */
    rounds: intFromEnv('BENCH_ROUNDS', 3, 1),
    /** Distinct valid sessions the load generator cycles through, spread over the table. */
    pool: intFromEnv('BENCH_POOL', 1000, 1),
    smallRows: intFromEnv('BENCH_SMALL_ROWS', 10_000, 1),
    largeRows: intFromEnv('BENCH_LARGE_ROWS', 1_000_000, 1),
    /** Users the sessions belong to (a few, as the issue allows). */
    users: 4,
    postgresUrl: process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
    /** Comma-separated target ids to run (default: all). */
    only: (process.env.BENCH_TARGETS ?? '').split(',').map((s) => s.trim()).filter(Boolean),
    /** Write a V8 CPU profile of each server child to results/profiles/. */
    cpuProfile: process.env.BENCH_CPU_PROF === '1',
    /** Better Auth refuses a low-entropy secret; each run gets a fresh one. */
    betterAuthSecret: randomBytes(32).toString('base64url'),
    /** JWT mode's jwt.secret for this run's fixture and server. */
    jwtSecret: randomBytes(32).toString('base64url'),
  };
  if (config.pool > config.smallRows || config.pool > config.largeRows) throw new Error('BENCH_POOL cannot exceed the row counts.');
  for (const id of config.only) {
    if (!TARGETS.some((t) => t.id === id)) throw new Error(`BENCH_TARGETS: unknown target "${id}". Known: ${TARGETS.map((t) => t.id).join(', ')}`);
  }
  return config;
}

/**
 * The targets, in run order. `server` is the handler the child process mounts; `fixture`
 * is the database it reads (see fixtures-*.mjs).
 */
export const TARGETS = [
  { id: 'bare', key: 'a', label: '(a) bare route, no auth', server: 'bare', fixture: 'sqliteSmall' },
  { id: 'handwritten', key: 'b', label: '(b) hand-written check, SQLite 10k', server: 'handwritten', fixture: 'sqliteSmall' },
  { id: 'gatehouse-sqlite', key: 'c', label: '(c) Gatehouse, SQLite 10k (session cache on, the default)', server: 'gatehouse', fixture: 'sqliteSmall' },
  { id: 'gatehouse-sqlite-nocache', key: 'cn', label: '(c) Gatehouse, SQLite 10k, cache off', server: 'gatehouse-nocache', fixture: 'sqliteSmall' },
  { id: 'gatehouse-sqlite-1m', key: 'c1m', label: '(c) Gatehouse, SQLite 1M, cache off', server: 'gatehouse-nocache', fixture: 'sqliteLarge' },
  { id: 'gatehouse-postgres', key: 'd', label: '(d) Gatehouse, PostgreSQL 10k', server: 'gatehouse', fixture: 'postgres' },
  { id: 'better-auth', key: 'e', label: '(e) Better Auth 1.7, SQLite 10k', server: 'better-auth', fixture: 'betterAuth' },
  { id: 'gatehouse-jwt', key: 'f', label: '(f) Gatehouse JWT mode, SQLite', server: 'gatehouse-jwt', fixture: 'jwt' },
  { id: 'jose-naive', key: 'g', label: '(g) jose jwtVerify per request', server: 'jose-naive', fixture: 'jwt' },
];

/** Ratios the issue asks for: numerator / denominator of req/s, with the goal to report against. */
export const RATIOS = [
  { name: 'c/b', of: 'c', over: 'b', goal: 0.9, meaning: 'Gatehouse vs the hand-written practical limit' },
  { name: 'c/e', of: 'c', over: 'e', goal: 10, meaning: 'Gatehouse vs Better Auth, both SQLite' },
  { name: 'd/b', of: 'd', over: 'b', goal: null, meaning: 'Gatehouse on PostgreSQL vs the SQLite limit (no goal)' },
  { name: 'c(1M)/c(10k)', of: 'c1m', over: 'cn', goal: 0.9, meaning: '1M sessions within 10% of 10k (cache off: the database lookup itself)' },
  { name: 'c/a', of: 'c', over: 'a', goal: 0.8, meaning: 'Gatehouse with the session cache vs the bare route' },
  { name: 'cn/b', of: 'cn', over: 'b', goal: null, meaning: 'Gatehouse without the cache vs the hand-written lookup (no goal)' },
  { name: 'f/g', of: 'f', over: 'g', goal: 1.5, meaning: 'JWT mode vs jose jwtVerify on every request' },
  { name: 'f/c', of: 'f', over: 'c', goal: 0.8, meaning: 'JWT mode vs the database-session route' },
];

/** Prints one line of progress with the time since the run started. */
const started = Date.now();
export function progress(message) {
  const s = ((Date.now() - started) / 1000).toFixed(1).padStart(6);
  process.stdout.write(`[${s}s] ${message}\n`);
}
