#!/usr/bin/env node
// `npm run bench` (from the repository root) ends here. Builds the databases, then, round after
// round, starts each target's server in a child process, checks it really authenticates, warms
// up, measures with autocannon and stops it. Prints the table and ratios, writes results/latest.json.
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import BetterSqlite3 from 'better-sqlite3';
import { BENCH_DIR, GATEHOUSE_ENTRY, TARGETS, progress, readConfig } from './lib/config.mjs';
import { cpuSnapshot, otherCores } from './lib/cpu.mjs';
import { createBetterAuthSqlite } from './lib/fixtures-better-auth.mjs';
import { createGatehousePostgres, createGatehouseSqlite } from './lib/fixtures-gatehouse.mjs';
import { createGatehouseJwtSqlite, JWT_ISSUER } from './lib/fixtures-jwt.mjs';
import { runLoad, shuffled, summarize } from './lib/load.mjs';
import { computeRatios, printReport, summarizeTargets, writeResults } from './lib/report.mjs';
import { runPasskeyBench } from './passkeys.mjs';
import { serverCpu, startServer, stopServer, verifyServer } from './lib/server-process.mjs';

/** Other processes using more CPU than this during a measurement make it "noisy". */
const NOISY_CORES = 0.2;

const FIXTURES = {
  sqliteSmall: (c) => createGatehouseSqlite({ name: 'gatehouse-10k', rows: c.smallRows, pool: c.pool, users: c.users }),
  sqliteLarge: (c) => createGatehouseSqlite({ name: 'gatehouse-1m', rows: c.largeRows, pool: c.pool, users: c.users }),
  postgres: (c) => createGatehousePostgres({ baseUrl: c.postgresUrl, rows: c.smallRows, pool: c.pool, users: c.users }),
  betterAuth: (c) => createBetterAuthSqlite({ rows: c.smallRows, pool: c.pool, users: c.users, secret: c.betterAuthSecret }),
  jwt: (c) => createGatehouseJwtSqlite({ pool: c.pool, users: c.users, secret: c.jwtSecret }),
};

function serverSpec(target, fixture, config) {
  switch (target.server) {
    case 'bare':
      return { kind: 'bare', userId: fixture.tokens[0].userId };
    case 'handwritten':
      return { kind: 'handwritten', file: fixture.file };
    case 'gatehouse':
    case 'gatehouse-nocache':
      return { kind: target.server, databaseUrl: fixture.databaseUrl };
    case 'gatehouse-jwt':
      return { kind: 'gatehouse-jwt', databaseUrl: fixture.databaseUrl, secret: config.jwtSecret };
    case 'jose-naive':
      return { kind: 'jose-naive', jwks: fixture.jwks, issuer: JWT_ISSUER };
    case 'better-auth':
      return { kind: 'better-auth', file: fixture.file, secret: config.betterAuthSecret };
    default:
      throw new Error(`bench: no server spec for "${target.server}"`);
  }
}

/** One round of one target: fresh server, proof, warm-up, measurement, stop. */
async function benchTarget(target, fixture, config, { round, prefix }) {
  const say = (message) => progress(`${prefix} ${target.label}: ${message}`);
  say('starting its server');
  const server = await startServer(target, serverSpec(target, fixture, config), { cpuProfile: config.cpuProfile, round });
  try {
    const url = `http://127.0.0.1:${server.port}/`;
    await verifyServer(url, target, fixture.tokens);
    const load = { url, cookies: shuffled(fixture.tokens).map((t) => t.cookie), connections: config.connections };
    if (config.warmup > 0) {
      say(`warm-up ${config.warmup}s`);
      await runLoad({ ...load, duration: config.warmup, phase: 'warm-up' });
    }
    say(`measuring ${config.duration}s`);
    const pids = [process.pid, server.child.pid];
    const before = cpuSnapshot(pids);
    const cpuBefore = await serverCpu(server);
    const figures = summarize(await runLoad({ ...load, duration: config.duration, phase: 'measuring' }));
    // CPU per request suffers less than req/s when other processes compete for the cores.
    figures.serverCpuUsPerRequest = ((await serverCpu(server)) - cpuBefore) / figures.requests;
    // For (d) this includes the PostgreSQL server, which is part of what is measured there.
    figures.otherCores = otherCores(before, cpuSnapshot(pids), os.cpus().length);
    const bad = figures.non2xx + figures.errors + figures.timeouts;
    const problem = bad === 0 ? null : `${figures.non2xx} non-2xx, ${figures.errors} errors, ${figures.timeouts} timeouts`;
    say(
      `${Math.round(figures.reqPerSec).toLocaleString('en')} req/s, p50 ${figures.latencyP50} ms, p99 ${figures.latencyP99} ms, ` +
        `${figures.serverCpuUsPerRequest.toFixed(1)} µs server CPU per request${problem ? ` (INVALID: ${problem})` : ''}`,
    );
    if (figures.otherCores !== null && figures.otherCores > NOISY_CORES && target.fixture !== 'postgres') {
      progress(`    note: other processes used ${figures.otherCores.toFixed(2)} cores meanwhile; this figure is lower than on a quiet machine`);
    }
    return { id: target.id, key: target.key, label: target.label, round, ...figures, valid: problem === null, problem };
  } finally {
    await stopServer(server);
  }
}

function versions(postgresVersion) {
  const pkg = (dir) => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version;
  const dep = (name) => pkg(join(BENCH_DIR, 'node_modules', name));
  const memory = new BetterSqlite3(':memory:');
  const sqlite = memory.prepare('select sqlite_version() as v').get().v;
  memory.close();
  return {
    gatehouse: pkg(join(BENCH_DIR, '..')),
    'better-auth': dep('better-auth'),
    hono: dep('hono'),
    '@hono/node-server': dep('@hono/node-server'),
    autocannon: dep('autocannon'),
    'better-sqlite3': dep('better-sqlite3'),
    sqlite,
    postgres: postgresVersion ?? null,
  };
}

async function main() {
  if (!existsSync(fileURLToPath(GATEHOUSE_ENTRY))) throw new Error('dist/ is missing: run `node scripts/build.mjs` in the repository root first.');
  const config = readConfig();
  const targets = TARGETS.filter((t) => config.only.length === 0 || config.only.includes(t.id));
  const machine = { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? 'unknown', memoryGiB: Math.round(os.totalmem() / 2 ** 30), os: `${os.type()} ${os.release()} ${os.arch()}`, node: process.version };
  const { betterAuthSecret: _secret, jwtSecret: _jwtSecret, only: _only, postgresUrl: _url, ...rest } = config;
  const settings = { ...rest, noisyCores: NOISY_CORES };
  const [load1] = os.loadavg();
  if (load1 > 0.5) progress(`WARNING: load average ${load1.toFixed(2)} before the bench started: other work on this machine will lower and scatter the figures.`);
  progress(`Gatehouse bench on ${machine.cpus} x ${machine.cpuModel}, Node ${machine.node}`);
  const loadSeconds = config.rounds * targets.length * (config.warmup + config.duration + 2);
  progress(`${config.rounds} rounds x ${targets.length} targets x (${config.warmup}s warm-up + ${config.duration}s measured): about ${Math.ceil(loadSeconds / 60)} min of load after setup`);

  const fixtures = {};
  const cleanup = async () => {
    for (const fixture of Object.values(fixtures)) await fixture.cleanup().catch((e) => console.error(`cleanup failed: ${e.message}`));
  };
  process.once('SIGINT', () => void cleanup().finally(() => process.exit(130)));

  const runs = [];
  const startedAt = new Date().toISOString();
  try {
    for (const name of new Set(targets.map((t) => t.fixture))) {
      progress(`Setting up ${name}`);
      fixtures[name] = await FIXTURES[name](config);
    }
    // Rounds interleave the targets, so a slow spell of the machine hits all of them alike.
    for (let round = 1; round <= config.rounds; round++) {
      for (const [index, target] of targets.entries()) {
        const prefix = `[round ${round}/${config.rounds}, ${index + 1}/${targets.length}]`;
        runs.push(await benchTarget(target, fixtures[target.fixture], config, { round, prefix }));
      }
    }
  } finally {
    progress('Removing the bench databases');
    await cleanup();
  }

  const summary = summarizeTargets(targets, runs);
  const ratios = computeRatios(runs, config.rounds);
  printReport(summary, ratios, settings);
  // Passkey sign-in verification: the HTTP handler against the library call alone (in process).
  const passkeys = config.only.length === 0 || config.only.includes('passkeys') ? await runPasskeyBench() : null;
  const path = writeResults({ startedAt, finishedAt: new Date().toISOString(), machine, versions: versions(fixtures.postgres?.serverVersion), settings, targets: summary, ratios, passkeys, runs });
  console.log(`\nWrote ${path}`);
  if (summary.some((r) => !r.valid)) process.exitCode = 1;
}

main().catch((error) => {
  console.error(`\nbench failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
