import { CompiledQuery, SqliteAdapter, SqliteDialect, type DatabaseConnection, type DialectAdapter, type Driver, type SqliteDialectConfig } from 'kysely';

/** As long as SQLite's busy_timeout: a turn not given within it fails like a locked database (a 503). */
export const TURN_TIMEOUT_MS = 5000;

/**
 * SQLite has ONE connection, shared by Kysely and by Gatehouse's own prepared statements
 * (`prepareStatement`, `prepareFirst`, `atomically`). Kysely keeps the connection from
 * `acquireConnection` to `releaseConnection`, and a Kysely transaction spans several awaits;
 * a prepared statement run in between would run INSIDE that transaction, and be undone with
 * it if it rolls back: a consumed challenge came back and could be consumed again (a replay,
 * WA-02) while a sign-up with a taken credential id rolled back. So both take turns: Kysely
 * holds a turn while it has the connection, and a prepared statement runs at once only when
 * no one holds one (otherwise it waits for its own turn).
 */
export class ConnectionTurns {
  private held = false;
  private readonly waiting: (() => void)[] = [];

  /** True when nobody holds the connection: a synchronous statement may run right now. */
  get free(): boolean {
    return !this.held;
  }

  async take(): Promise<void> {
    if (!this.held) {
      this.held = true;
      return;
    }
    // Handed over by `give`, which leaves `held` set: nobody can slip in between. A holder that
    // never gives (code that waits, inside a transaction, for another connection of this process
    // to the same file) ends in an error after the busy timeout, not in a hang.
    await new Promise<void>((resolve, reject) => {
      const handOver = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        const at = this.waiting.indexOf(handOver);
        if (at !== -1) this.waiting.splice(at, 1);
        reject(new Error(`database is locked: another connection of this process held the SQLite file for ${TURN_TIMEOUT_MS / 1000} s`));
      }, TURN_TIMEOUT_MS);
      this.waiting.push(handOver);
    });
  }

  give(): void {
    const next = this.waiting.shift();
    if (next === undefined) this.held = false;
    else next();
  }

  /** Runs synchronous `work` now if the connection is free, else when its turn comes. */
  run<T>(work: () => T): Promise<T> {
    if (!this.held) {
      try {
        return Promise.resolve(work());
      } catch (error) {
        return Promise.reject(error instanceof Error ? error : new Error(String(error)));
      }
    }
    return this.take().then(() => {
      try {
        return work();
      } finally {
        this.give();
      }
    });
  }
}

/**
 * SQLite runs DDL inside transactions, so each migration run is one: a migration failing halfway
 * leaves nothing behind (Kysely's SQLite adapter says otherwise, and a half-applied run could
 * never be re-run). With BEGIN IMMEDIATE below, the run also holds the write lock from its first
 * statement: two processes migrating one file take turns instead of both creating the tables.
 */
class TransactionalSqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}

/**
 * Kysely's SQLite dialect whose driver holds a turn for as long as Kysely has the connection,
 * and whose transactions begin IMMEDIATE: the write lock is taken (or waited for, busy_timeout)
 * before the first statement. A deferred transaction that read first and wrote later failed at
 * once with SQLITE_BUSY when another process had committed meanwhile (WAL snapshots).
 */
export class TurnTakingSqliteDialect extends SqliteDialect {
  constructor(
    config: SqliteDialectConfig,
    private readonly turns: ConnectionTurns,
  ) {
    super(config);
  }

  override createAdapter(): DialectAdapter {
    return new TransactionalSqliteAdapter();
  }

  override createDriver(): Driver {
    const inner = super.createDriver();
    const turns = this.turns;
    return {
      init: () => inner.init(),
      async acquireConnection(): Promise<DatabaseConnection> {
        await turns.take();
        try {
          return await inner.acquireConnection();
        } catch (error) {
          turns.give();
          throw error;
        }
      },
      async beginTransaction(connection: DatabaseConnection): Promise<void> {
        await connection.executeQuery(CompiledQuery.raw('begin immediate'));
      },
      commitTransaction: (connection: DatabaseConnection) => inner.commitTransaction(connection),
      rollbackTransaction: (connection: DatabaseConnection) => inner.rollbackTransaction(connection),
      ...(inner.savepoint ? { savepoint: inner.savepoint.bind(inner) } : {}),
      ...(inner.rollbackToSavepoint ? { rollbackToSavepoint: inner.rollbackToSavepoint.bind(inner) } : {}),
      ...(inner.releaseSavepoint ? { releaseSavepoint: inner.releaseSavepoint.bind(inner) } : {}),
      async releaseConnection(connection: DatabaseConnection): Promise<void> {
        try {
          await inner.releaseConnection(connection);
        } finally {
          turns.give();
        }
      },
      destroy: () => inner.destroy(),
    };
  }
}
