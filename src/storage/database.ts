import { mkdirSync, readFileSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createHash } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { Kysely, PostgresDialect, type CompiledQuery } from 'kysely';
import type { Statement } from 'better-sqlite3';
import type { GatehouseTables } from './schema.js';
import { ConfigurationError } from '../errors.js';
import { ConnectionTurns, TurnTakingSqliteDialect } from './sqlite-turns.js';

export type Dialect = 'sqlite' | 'postgres';

/** An open database: the Kysely instance plus what the SQL storage needs to know about it. */
export interface Database {
  readonly dialect: Dialect;
  readonly kysely: Kysely<GatehouseTables>;
  /** A human-readable location without credentials, for logs and CLI output. */
  readonly description: string;
  /**
   * Turns a lookup Kysely compiled once into a prepared statement on the driver itself, for
   * the per-request session lookup: building and compiling the query on every request cost
   * ten times more than running it. The SQL text still comes from Kysely. The first row
   * comes back as an array in select-list order (or undefined): building an object with a
   * property per column cost more than the lookup itself.
   */
  prepareFirst(query: CompiledQuery): (parameters: readonly unknown[]) => Promise<unknown[] | undefined>;
  /**
   * The same for the other per-sign-in queries: prepared once on the driver, then `get` (first
   * row as an object keyed by column name, or undefined; also for `... RETURNING`) or `run`
   * (rows changed). See `src/storage/prepared.ts` for binding values by name.
   */
  prepareStatement(query: CompiledQuery): PreparedStatement;
  /**
   * SQLite only: runs `work` as ONE `BEGIN IMMEDIATE` transaction, synchronously, in its turn
   * on the connection (see sqlite-turns.ts). Inside, statements run with `getNow`/`runNow`.
   * A throw rolls everything back. Nothing else runs on the connection meanwhile, and another
   * process waits for the write lock (busy_timeout) instead of failing halfway.
   */
  atomically?<T>(work: () => T): Promise<T>;
  /** Connection pool counts (PostgreSQL), for metrics. */
  poolStats?(): { total: number; idle: number; waiting: number };
  /**
   * SQLite only: `PRAGMA data_version`, which changes when ANOTHER connection (another process
   * on the same file, the CLI) commits. Lets a cache notice others' writes at once, cheaply.
   */
  dataVersion?(): number;
  /**
   * PostgreSQL only: LISTEN on `channel` on a dedicated connection (JWT mode's revocation
   * feed). `onPayload` gets each NOTIFY payload; `onError` is called once when the
   * connection is lost. Resolves to a function that stops listening.
   */
  listen?(channel: string, onPayload: (payload: string) => void, onError: (error: unknown) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

export interface PreparedStatement {
  get(parameters: readonly unknown[]): Promise<Record<string, unknown> | undefined>;
  run(parameters: readonly unknown[]): Promise<number>;
  /** SQLite only, inside `atomically`: the same, synchronously. */
  getNow?(parameters: readonly unknown[]): Record<string, unknown> | undefined;
  allNow?(parameters: readonly unknown[]): Record<string, unknown>[];
  runNow?(parameters: readonly unknown[]): number;
}

export const DEFAULT_DATABASE_URL = 'sqlite:./data/gatehouse.db';

/**
 * Opens the database named by a URL: `sqlite:./path.db`, `sqlite::memory:`, or
 * `postgres://user@host:5432/db` (also `postgresql://`).
 */
export async function openDatabase(url: string = DEFAULT_DATABASE_URL): Promise<Database> {
  return databaseKind(url) === 'sqlite' ? openSqlite(url.slice('sqlite:'.length), 'process') : openPostgres(url);
}

/**
 * Tests only (not exported by the package): a SQLite connection that does NOT take turns with
 * this process's other connections to the file, the way a second process's connection would. The
 * storage conformance suite races two of them to exercise SQLite's own locking.
 */
export function openSqliteAsAnotherProcess(url: string): Promise<Database> {
  if (databaseKind(url) !== 'sqlite') throw new Error('openSqliteAsAnotherProcess: a sqlite: URL');
  return openSqlite(url.slice('sqlite:'.length), 'own');
}

/** Which database a URL names; throws a ConfigurationError (at startup) for anything else. */
export function databaseKind(url: string): Dialect {
  if (url.startsWith('sqlite:')) {
    if (url === 'sqlite:') throw new ConfigurationError('The database URL "sqlite:" needs a file path, e.g. sqlite:./data/gatehouse.db');
    // "sqlite://./data/app.db" reads, as a URL, as the absolute path /data/app.db: refused rather
    // than writing somewhere the user did not mean. "sqlite:///srv/app.db" (three slashes, an
    // absolute path) is unambiguous and stays accepted.
    if (url.startsWith('sqlite://') && !url.startsWith('sqlite:///')) {
      const path = url.slice('sqlite://'.length);
      const meant = path === ':memory:' ? 'sqlite::memory:' : `sqlite:./${path.replace(/^\.\//, '')}`;
      throw new ConfigurationError(
        `The database URL "${url}" is ambiguous. Write the path after "sqlite:" with no slashes in between: ${meant} (a relative path is resolved from the working directory).`,
      );
    }
    return 'sqlite';
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) return 'postgres';
  // Quoted as given, never as a URL parser rewrote it ("file:./x.db" is not "file:///x.db"),
  // except that a URL with credentials has its password hidden.
  throw new ConfigurationError(
    `The database URL "${url.includes('@') ? redactUrl(url) : url}" is not supported. Use sqlite:./data/gatehouse.db or postgres://user@host:5432/database.`,
  );
}

/**
 * better-sqlite3 12 is the last line that runs on Node 20; 13 (Node-API) needs Node 22 and
 * crashes Node 20 with a segfault, while 12 can abort at exit on Node 24.19+ (a Node
 * ObjectWrap change). Check the pair before loading the native module, so a mismatch is a
 * sentence saying what to install instead of a crash.
 */
function checkSqliteDriver(): void {
  let version: string;
  try {
    const require = createRequire(import.meta.url);
    const manifest = JSON.parse(readFileSync(require.resolve('better-sqlite3/package.json'), 'utf8')) as { version?: string };
    version = manifest.version ?? '';
  } catch {
    throw new ConfigurationError('The database is SQLite but better-sqlite3 is not installed. Run: npm install better-sqlite3');
  }
  const driverMajor = Number(version.split('.')[0]);
  const nodeMajor = Number(process.versions.node.split('.')[0]);
  if (driverMajor >= 13 && nodeMajor < 22) {
    throw new ConfigurationError(
      `better-sqlite3 ${version} needs Node 22 or later (this is Node ${process.versions.node}). Upgrade Node, or pin the driver: "overrides": { "better-sqlite3": "^12.6.2" } in package.json.`,
    );
  }
  if (driverMajor === 12 && nodeMajor >= 24 && !warnedAboutDriver) {
    warnedAboutDriver = true;
    console.warn(
      `[gatehouse] better-sqlite3 ${version} can abort the process at exit on Node ${process.versions.node}. Install better-sqlite3@13 (add "overrides": { "better-sqlite3": "^13.0.3" }).`,
    );
  }
}
let warnedAboutDriver = false;

/**
 * Every connection this process opens to one SQLite file takes turns with the others (see
 * sqlite-turns.ts), keyed by the file's real path. better-sqlite3 waits for SQLite's write lock
 * synchronously (busy_timeout), so a connection waiting for another connection OF THIS PROCESS
 * blocked the very thread that had to finish the holder's transaction: a 5 s stall, then
 * "database is locked". Two Gatehouse instances in one process (a framework that loads the
 * module twice, a test) met it whenever one's transaction overlapped the other's write. Another
 * process's connection is unaffected: its holder keeps running and commits in milliseconds.
 */
const fileTurns = new Map<string, { turns: ConnectionTurns; open: number }>();

function turnsForFile(file: string): { turns: ConnectionTurns; release(): void } {
  let entry = fileTurns.get(file);
  if (entry === undefined) {
    entry = { turns: new ConnectionTurns(), open: 0 };
    fileTurns.set(file, entry);
  }
  entry.open++;
  const held = entry;
  let released = false;
  return {
    turns: held.turns,
    release() {
      if (released) return;
      released = true;
      held.open--;
      if (held.open === 0 && fileTurns.get(file) === held) fileTurns.delete(file);
    },
  };
}

async function openSqlite(path: string, turnsScope: 'process' | 'own'): Promise<Database> {
  checkSqliteDriver();
  const { default: BetterSqlite3 } = await import('better-sqlite3');
  const memory = path === ':memory:';
  const file = memory ? ':memory:' : resolve(path);
  if (!memory) mkdirSync(dirname(file), { recursive: true });
  const sqlite = new BetterSqlite3(file);
  // WAL lets readers proceed while one writer commits; busy_timeout makes a second
  // process wait for the write lock instead of failing at once.
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('foreign_keys = ON');
  // SQLite's lower() folds ASCII only: a search for "élodie" never found "Élodie" (PostgreSQL's does).
  sqlite.function('gatehouse_lower', { deterministic: true }, (value: unknown) => (typeof value === 'string' ? value.toLowerCase() : value));
  // In memory, each connection is its own database: nothing to share.
  const shared = memory || turnsScope === 'own' ? null : turnsForFile(realpathSync(file));
  const turns = shared?.turns ?? new ConnectionTurns();
  const kysely = new Kysely<GatehouseTables>({ dialect: new TurnTakingSqliteDialect({ database: sqlite }, turns) });
  let dataVersionStatement: Statement<[], number> | undefined;
  let begin: Statement | undefined;
  let commit: Statement | undefined;
  let rollback: Statement | undefined;
  return {
    dialect: 'sqlite',
    kysely,
    description: memory ? 'sqlite (in memory)' : `sqlite ${file}`,
    prepareFirst(query: CompiledQuery) {
      let statement: Statement<unknown[], unknown[]> | undefined;
      return (parameters: readonly unknown[]) =>
        turns.run(() => {
          statement ??= sqlite.prepare<unknown[], unknown[]>(query.sql).raw(true);
          return statement.get(...parameters);
        });
    },
    dataVersion() {
      dataVersionStatement ??= sqlite.prepare<[], number>('PRAGMA data_version').pluck();
      return Number(dataVersionStatement.get());
    },
    prepareStatement(query: CompiledQuery) {
      // better-sqlite3 is synchronous: each call runs to completion, in its turn on the connection.
      let statement: Statement<unknown[], Record<string, unknown>> | undefined;
      const prepared = () => (statement ??= sqlite.prepare<unknown[], Record<string, unknown>>(query.sql));
      const getNow = (parameters: readonly unknown[]) => prepared().get(...parameters);
      const runNow = (parameters: readonly unknown[]) => prepared().run(...parameters).changes;
      const allNow = (parameters: readonly unknown[]) => prepared().all(...parameters);
      return {
        get: (parameters) => turns.run(() => getNow(parameters)),
        run: (parameters) => turns.run(() => runNow(parameters)),
        getNow,
        allNow,
        runNow,
      };
    },
    atomically<T>(work: () => T): Promise<T> {
      return turns.run(() => {
        // IMMEDIATE: the write lock is taken (or waited for) before the first read, so a
        // transaction that reads and then writes never fails halfway on another process's commit.
        (begin ??= sqlite.prepare('BEGIN IMMEDIATE')).run();
        try {
          const result = work();
          (commit ??= sqlite.prepare('COMMIT')).run();
          return result;
        } catch (error) {
          if (sqlite.inTransaction) (rollback ??= sqlite.prepare('ROLLBACK')).run();
          throw error;
        }
      });
    },
    async close() {
      try {
        await kysely.destroy();
      } finally {
        shared?.release();
      }
    },
  };
}

/** A named statement is parsed and planned once per connection, then reused. */
function statementName(sql: string): string {
  return `gatehouse_${createHash('sha256').update(sql).digest('hex').slice(0, 16)}`;
}

async function openPostgres(url: string): Promise<Database> {
  const { default: pg } = await import('pg');
  const pool = new pg.Pool({
    connectionString: url,
    max: 10,
    connectionTimeoutMillis: 5000,
    // int8 columns hold millisecond timestamps, well inside Number's safe range.
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === 20 ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    },
  });
  // An idle client losing its connection must not crash the process; the next query reconnects.
  pool.on('error', () => {});
  // Nor may a checked-out one (Kysely holds clients between the statements of a transaction): pg emits
  // 'error' on the client with no listener then. The failure still reaches the caller as a rejected
  // query, and the pool drops the broken client on release.
  pool.on('connect', (client) => {
    client.on('error', () => {});
  });
  const kysely = new Kysely<GatehouseTables>({ dialect: new PostgresDialect({ pool }) });
  const prepare = (query: CompiledQuery) => {
    const name = statementName(query.sql);
    return async (parameters: readonly unknown[]) => {
      const result = await pool.query<unknown[]>({ name, text: query.sql, values: [...parameters], rowMode: 'array' });
      return result.rows;
    };
  };
  return {
    dialect: 'postgres',
    kysely,
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
    description: `postgres ${redactUrl(url)}`,
    prepareFirst(query: CompiledQuery) {
      const all = prepare(query);
      return async (parameters: readonly unknown[]) => (await all(parameters))[0];
    },
    prepareStatement(query: CompiledQuery) {
      const name = statementName(query.sql);
      return {
        async get(parameters) {
          const result = await pool.query<Record<string, unknown>>({ name, text: query.sql, values: [...parameters] });
          return result.rows[0];
        },
        async run(parameters) {
          const result = await pool.query({ name, text: query.sql, values: [...parameters] });
          return result.rowCount ?? 0;
        },
      };
    },
    async listen(channel, onPayload, onError) {
      // Its own client, outside the pool: a LISTEN lives as long as its connection.
      // Named after the channel, so an operator (or a test) finds it in pg_stat_activity.
      const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000, keepAlive: true, application_name: `gatehouse_feed_${channel}`.slice(0, 63) });
      let failed = false;
      const fail = (error: unknown) => {
        if (failed) return;
        failed = true;
        client.end().catch(() => {});
        onError(error);
      };
      client.on('error', fail);
      client.on('end', () => fail(new Error('LISTEN connection ended')));
      client.on('notification', (message) => {
        if (message.channel === channel && message.payload !== undefined) onPayload(message.payload);
      });
      await client.connect();
      await client.query(`LISTEN ${client.escapeIdentifier(channel)}`);
      return async () => {
        failed = true;
        await client.end();
      };
    },
    close: () => kysely.destroy(),
  };
}

/** Removes the password from a connection URL so it can be printed. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url.replace(/\/\/[^@/]*@/, '//***@');
  }
}
