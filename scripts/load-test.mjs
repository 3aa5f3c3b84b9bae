#!/usr/bin/env node
// Sustained load: a mix of session checks, passkey sign-ins (software authenticator) and, in
// JWT mode, refreshes, against one demo instance or two behind a shared PostgreSQL + Redis.
// Reports requests per kind, unexpected errors, p50/p99 latency and each server's RSS at the
// start and the end (docs/operations.md, "Load").
//
//   node scripts/load-test.mjs [--duration 180] [--users 20] [--instances 1|2] [--strategy database|jwt]
//
// One instance runs on SQLite unless --database-url is given; two instances always share the
// PostgreSQL at DATABASE_TEST_URL (a schema of their own) and the Redis at REDIS_TEST_URL.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { freePort, startDemoServer } from './lib/demo-process.mjs';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '180' },
    users: { type: 'string', default: '20' },
    instances: { type: 'string', default: '1' },
    strategy: { type: 'string', default: 'database' },
    'database-url': { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  console.log(`Usage: node scripts/load-test.mjs [--duration SECONDS] [--users N] [--instances 1|2] [--strategy database|jwt] [--database-url URL]

Each virtual user signs up with a passkey once, then loops: 10 session checks, (jwt: a refresh),
sign-out, passkey sign-in. Two instances share PostgreSQL + Redis and users alternate between
them, as behind a load balancer. Prints a progress line every 10 s and a JSON summary; exits 1
on any unexpected response.`);
  process.exit(0);
}
const DURATION_MS = Number(args.duration) * 1000;
const USERS = Number(args.users);
const INSTANCES = Number(args.instances);
const STRATEGY = args.strategy;
if (![1, 2].includes(INSTANCES) || !['database', 'jwt'].includes(STRATEGY) || !(DURATION_MS > 0) || !(USERS > 0)) {
  console.error('load-test: bad arguments (see --help)');
  process.exit(2);
}

const { openDatabase } = await import(new URL('../dist/src/index.js', import.meta.url).href);
const { createSoftwareAuthenticator } = await import(new URL('../dist/src/testing/index.js', import.meta.url).href);
const { sql } = await import('kysely');



function rssMiB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return Math.round((kb / 1024) * 10) / 10;
}

const latencies = new Map();
const counts = new Map();
const unexpected = [];
function record(kind, ms, ok, detail) {
  if (!latencies.has(kind)) latencies.set(kind, []);
  latencies.get(kind).push(ms);
  counts.set(kind, (counts.get(kind) ?? 0) + 1);
  if (!ok && unexpected.length < 20) unexpected.push(`${kind}: ${detail}`);
  if (!ok) counts.set('unexpected', (counts.get('unexpected') ?? 0) + 1);
}

function percentile(sorted, p) {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function virtualUser(base, stopAt) {
  const origin = 'http://localhost:3000';
  const authenticator = createSoftwareAuthenticator({ origin });
  const jar = new Map();
  const send = async (kind, path, json, expected) => {
    const headers = { 'sec-fetch-site': 'same-origin' };
    if (json !== undefined) headers['content-type'] = 'application/json';
    if (jar.size > 0) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const started = performance.now();
    let res;
    try {
      res = await fetch(`${base}${path}`, { method: json === undefined ? 'GET' : 'POST', headers, body: json === undefined ? undefined : JSON.stringify(json) });
    } catch (error) {
      record(kind, performance.now() - started, false, String(error));
      return null;
    }
    const body = await res.text();
    record(kind, performance.now() - started, res.status === expected, `${res.status} ${body.slice(0, 120)}`);
    for (const line of res.headers.getSetCookie()) {
      const pair = line.split(';')[0];
      const name = pair.slice(0, pair.indexOf('='));
      if (/Max-Age=0/.test(line)) jar.delete(name);
      else jar.set(name, pair.slice(pair.indexOf('=') + 1));
    }
    return body;
  };
  const email = `load-${randomBytes(6).toString('hex')}@example.com`;
  const options = await send('sign-up options', '/auth/passkeys/register/options', { email, name: 'Load' }, 200);
  if (options === null) return;
  await send('sign-up', '/auth/passkeys/register/verify', { response: authenticator.register(JSON.parse(options)) }, 201);
  while (Date.now() < stopAt) {
    for (let i = 0; i < 10; i++) await send('session check', '/auth/session', undefined, 200);
    if (STRATEGY === 'jwt') await send('refresh', '/auth/token/refresh', {}, 200);
    await send('sign-out', '/auth/sign-out', {}, 204);
    const login = await send('sign-in options', '/auth/passkeys/login/options', {}, 200);
    if (login === null) continue;
    await send('sign-in', '/auth/passkeys/login/verify', { response: authenticator.authenticate(JSON.parse(login)) }, 200);
  }
}

let cleanup = async () => {};
let databaseUrl = args['database-url'];
const env = { GATEHOUSE_ORIGIN: 'http://localhost:3000', ...(STRATEGY === 'jwt' ? { GATEHOUSE_SESSION_STRATEGY: 'jwt', GATEHOUSE_JWT_SECRET: randomBytes(32).toString('base64url') } : {}) };
if (INSTANCES === 2 || databaseUrl?.startsWith('postgres')) {
  const baseUrl = databaseUrl ?? process.env.DATABASE_TEST_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const schema = `gh_load_${randomBytes(5).toString('hex')}`;
  const admin = await openDatabase(baseUrl);
  await sql.raw(`create schema ${schema}`).execute(admin.kysely);
  const u = new URL(baseUrl);
  u.searchParams.set('options', `-c search_path=${schema}`);
  databaseUrl = u.toString();
  cleanup = async () => {
    await sql.raw(`drop schema if exists ${schema} cascade`).execute(admin.kysely);
    await admin.close();
  };
  if (INSTANCES === 2) env.REDIS_URL = process.env.REDIS_TEST_URL ?? 'redis://127.0.0.1:6379';
} else if (databaseUrl === undefined) {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-load-'));
  databaseUrl = `sqlite:${join(dir, 'load.db')}`;
  cleanup = async () => rmSync(dir, { recursive: true, force: true });
}
env.DATABASE_URL = databaseUrl;
// The load comes from one IP: scale the limits so this measures the auth path, not the limiter.
env.RATE_LIMIT_SCALE = '1000';

const servers = [];
try {
  for (let i = 0; i < INSTANCES; i++) servers.push(await startDemoServer(await freePort(), env));
  const rssStart = servers.map((s) => rssMiB(s.child.pid));
  const started = Date.now();
  const stopAt = started + DURATION_MS;
  const progress = setInterval(() => {
    const total = [...counts].filter(([k]) => k !== 'unexpected').reduce((a, [, n]) => a + n, 0);
    console.log(`  ${Math.round((Date.now() - started) / 1000)} s: ${total} requests, ${counts.get('unexpected') ?? 0} unexpected, RSS ${servers.map((s) => `${rssMiB(s.child.pid)} MiB`).join(' / ')}`);
  }, 10_000);
  await Promise.all(Array.from({ length: USERS }, (_, i) => virtualUser(servers[i % INSTANCES].base, stopAt)));
  clearInterval(progress);
  const seconds = (Date.now() - started) / 1000;
  const rssEnd = servers.map((s) => rssMiB(s.child.pid));
  const kinds = {};
  for (const [kind, values] of latencies) {
    values.sort((a, b) => a - b);
    kinds[kind] = { count: values.length, perSecond: Math.round(values.length / seconds), p50ms: Math.round(percentile(values, 50) * 100) / 100, p99ms: Math.round(percentile(values, 99) * 100) / 100 };
  }
  const summary = { instances: INSTANCES, strategy: STRATEGY, database: databaseUrl.split(':')[0], users: USERS, seconds: Math.round(seconds), unexpected: counts.get('unexpected') ?? 0, rssStartMiB: rssStart, rssEndMiB: rssEnd, kinds };
  console.log(JSON.stringify(summary, null, 2));
  if (unexpected.length > 0) {
    console.error(`unexpected responses (first ${unexpected.length}):\n  ${unexpected.join('\n  ')}`);
    process.exitCode = 1;
  }
} finally {
  for (const s of servers) s.child.kill('SIGTERM');
  await cleanup();
}
