// Gatehouse databases for targets (b), (c) and (d): the schema, users and one session come
// from the library itself; the bulk of the session rows is loaded directly, in the same format.
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { DATA_DIR, GATEHOUSE_ENTRY, progress } from './config.mjs';
import { SESSION_COLUMNS, sessionRows } from './session-rows.mjs';

const ORIGIN = 'http://localhost:3000';
const quiet = { warn: () => {}, error: () => {} };

/** The same pragmas Gatehouse's openDatabase sets (src/storage/database.ts), for every SQLite connection. */
export function applySqlitePragmas(sqlite) {
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('foreign_keys = ON');
}

/** Migrates, creates the users and one library-minted session; returns user ids and that session's cookie. */
async function prepareWithLibrary(databaseUrl, userCount) {
  const { createGatehouse, SESSION_COOKIE } = await import(GATEHOUSE_ENTRY.href);
  const auth = createGatehouse({ database: databaseUrl, origin: ORIGIN, logger: quiet });
  try {
    await auth.migrate();
    const userIds = [];
    for (let i = 0; i < userCount; i++) userIds.push((await auth.users.create({ email: `bench-${i}@example.com` })).id);
    const { headers } = await auth.createSession(userIds[0], new Request(`${ORIGIN}/`), { method: 'passkey' });
    const cookie = headers.get('set-cookie').split(';')[0];
    return { userIds, libraryToken: { cookie, userId: userIds[0] }, cookieName: SESSION_COOKIE };
  } finally {
    await auth.close();
  }
}

/** Every pool token must sign in through the library's own getSession, or the run stops. */
async function verifyTokens(databaseUrl, tokens) {
  const { createGatehouse } = await import(GATEHOUSE_ENTRY.href);
  const auth = createGatehouse({ database: databaseUrl, origin: ORIGIN, logger: quiet });
  try {
    for (const { cookie, userId } of tokens) {
      const result = await auth.getSession(new Request(`${ORIGIN}/`, { headers: { cookie } }));
      if (result?.user.id !== userId) throw new Error(`a bench session token did not authenticate through Gatehouse (${databaseUrl})`);
    }
  } finally {
    await auth.close();
  }
}

function removeSqlite(file) {
  for (const suffix of ['', '-wal', '-shm']) rmSync(file + suffix, { force: true });
}

/** A SQLite database with `rows` sessions; `pool` of them are returned as cookies. */
export async function createGatehouseSqlite({ name, rows, pool, users }) {
  mkdirSync(DATA_DIR, { recursive: true });
  const file = join(DATA_DIR, `${name}.db`);
  removeSqlite(file);
  const databaseUrl = `sqlite:${file}`;
  const { userIds, libraryToken, cookieName } = await prepareWithLibrary(databaseUrl, users);

  const sqlite = new BetterSqlite3(file);
  applySqlitePragmas(sqlite);
  // Loading only: random-key inserts into three indexes thrash the default page cache past a
  // few hundred thousand rows. The servers open their own connections with the defaults.
  sqlite.pragma('cache_size = -262144');
  const insert = sqlite.prepare(
    `INSERT INTO gatehouse_sessions (${SESSION_COLUMNS.join(', ')}) VALUES (${SESSION_COLUMNS.map((c) => `@${c}`).join(', ')})`,
  );
  const tokens = [libraryToken];
  const started = Date.now();
  const reportEvery = Math.max(100_000, Math.ceil(rows / 10));
  // The library already wrote one session; the pool's first slot is that one.
  sqlite.transaction(() => {
    let done = 0;
    for (const row of sessionRows({ rows: rows - 1, pool: pool - 1 || 1, userIds, now: Date.now() })) {
      const { token, ...values } = row;
      insert.run(values);
      if (token !== null && tokens.length < pool) tokens.push({ cookie: `${cookieName}=${token}`, userId: row.user_id });
      if (++done % reportEvery === 0) progress(`  ${name}: ${done.toLocaleString('en')} / ${rows.toLocaleString('en')} rows (${((Date.now() - started) / 1000).toFixed(1)}s)`);
    }
  })();
  sqlite.pragma('wal_checkpoint(TRUNCATE)');
  sqlite.close();
  progress(`  ${name}: ${rows.toLocaleString('en')} session rows loaded in ${((Date.now() - started) / 1000).toFixed(1)}s; verifying ${tokens.length} tokens through Gatehouse`);
  await verifyTokens(databaseUrl, tokens);
  return { name, databaseUrl, file, tokens, userIds, cleanup: async () => removeSqlite(file) };
}

/** A dedicated PostgreSQL schema (dropped by cleanup) with `rows` sessions. */
export async function createGatehousePostgres({ baseUrl, rows, pool, users }) {
  const schema = `gatehouse_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  const cleanup = async () => {
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
  };
  try {
    const serverVersion = (await admin.query('SHOW server_version')).rows[0].server_version;
    await admin.query(`CREATE SCHEMA ${schema}`);
    // pg reads libpq's `options` parameter; every pooled connection then starts in the bench schema.
    const databaseUrl = `${baseUrl}${baseUrl.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
    const { userIds, libraryToken, cookieName } = await prepareWithLibrary(databaseUrl, users);

    const tokens = [libraryToken];
    const started = Date.now();
    const casts = { created_at: 'bigint', last_seen_at: 'bigint', expires_at: 'bigint', absolute_expires_at: 'bigint', auth_time: 'bigint' };
    const statement = `INSERT INTO ${schema}.gatehouse_sessions (${SESSION_COLUMNS.join(', ')}) SELECT * FROM unnest(${SESSION_COLUMNS.map(
      (c, i) => `$${i + 1}::${casts[c] ?? 'text'}[]`,
    ).join(', ')})`;
    let batch = SESSION_COLUMNS.map(() => []);
    const flush = async () => {
      if (batch[0].length > 0) await admin.query(statement, batch);
      batch = SESSION_COLUMNS.map(() => []);
    };
    await admin.query('BEGIN');
    for (const row of sessionRows({ rows: rows - 1, pool: pool - 1 || 1, userIds, now: Date.now() })) {
      SESSION_COLUMNS.forEach((c, i) => batch[i].push(row[c]));
      if (row.token !== null && tokens.length < pool) tokens.push({ cookie: `${cookieName}=${row.token}`, userId: row.user_id });
      if (batch[0].length === 5000) await flush();
    }
    await flush();
    await admin.query('COMMIT');
    // What autovacuum would do shortly after a bulk load; without it the planner has no statistics.
    await admin.query(`ANALYZE ${schema}.gatehouse_sessions, ${schema}.gatehouse_users`);
    progress(`  postgres schema ${schema}: ${rows.toLocaleString('en')} session rows loaded in ${((Date.now() - started) / 1000).toFixed(1)}s; verifying ${tokens.length} tokens through Gatehouse`);
    await verifyTokens(databaseUrl, tokens);
    return { name: schema, databaseUrl, tokens, userIds, serverVersion, cleanup };
  } catch (error) {
    await cleanup().catch(() => {});
    throw error;
  }
}
