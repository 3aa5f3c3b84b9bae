import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { sql } from 'kysely';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { createGatehouse, migrate, openDatabase, pendingMigrations, SYSTEM_ACTOR } from '../src/index.js';
import { NewerSchemaError } from '../src/storage/migrate.js';
import { freshPostgres, hasPostgres } from './services.js';

/**
 * A migration run is all-or-nothing on both databases, several processes can run it at once,
 * and a database migrated by a newer Gatehouse is named as such instead of failing obscurely.
 */
const run = promisify(execFile);
const cli = join(import.meta.dirname, '..', 'dist', 'src', 'cli', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-migrations-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function gatehouse(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [cli, ...args], { cwd: dir });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const databases = [
  { name: 'SQLite', enabled: true, url: async () => ({ url: `sqlite:${join(dir, `db-${Math.random().toString(36).slice(2)}.db`)}`, drop: async () => {} }) },
  { name: 'PostgreSQL', enabled: hasPostgres, url: freshPostgres },
];

for (const db of databases) {
  describe.runIf(db.enabled)(`migrations on ${db.name}`, { timeout: 120_000 }, () => {
    it('a run that fails halfway leaves nothing behind, and runs cleanly once the cause is gone', async () => {
      const { url, drop } = await db.url();
      const database = await openDatabase(url);
      try {
        // A table in the way of migration 0002: 0001 runs, then 0002 fails.
        await sql`create table gatehouse_challenges (x integer)`.execute(database.kysely);
        // Before the fix on SQLite, 0001 and half of 0002 stayed, and every later run failed on "duplicate column".
        await expect(migrate(database)).rejects.toThrow(/0002_passkeys failed .*rolled back \(nothing was applied\)/);
        await expect(sql`select count(*) as n from gatehouse_users`.execute(database.kysely)).rejects.toThrow();
        expect(await pendingMigrations(database)).toContain('0001_foundation');
        await sql`drop table gatehouse_challenges`.execute(database.kysely);
        expect((await migrate(database)).applied).toContain('0005_revocations_at');
        expect(await pendingMigrations(database)).toEqual([]);
      } finally {
        await database.close();
        await drop();
      }
    });

    it('a database migrated by a newer Gatehouse: migrate, --status and readiness say so and what to do', async () => {
      const { url, drop } = await db.url();
      const database = await openDatabase(url);
      try {
        await migrate(database);
        await sql`insert into gatehouse_migrations (name, timestamp) values ('0099_from_the_future', '2030-01-01T00:00:00.000Z')`.execute(database.kysely);
        const attempt = migrate(database);
        await expect(attempt).rejects.toBeInstanceOf(NewerSchemaError);
        await expect(migrate(database)).rejects.toThrow(/migrated by a newer version of Gatehouse \(migration 0099_from_the_future is unknown to this one\)\. Upgrade Gatehouse/);
        await expect(pendingMigrations(database)).rejects.toBeInstanceOf(NewerSchemaError);
        const auth = createGatehouse({ database, origin: 'http://localhost:3000', logger: { warn() {}, error() {} } });
        const ready = await auth.readiness();
        expect(ready.ready).toBe(false);
        expect(ready.checks.find((c) => c.name === 'migrations')?.detail).toMatch(/newer Gatehouse \(unknown: 0099_from_the_future\): upgrade Gatehouse/);
        await auth.close();
        const status = await gatehouse('migrate', '--status', '--database-url', url);
        expect(status.code).toBe(1);
        expect(status.stderr).toContain('was migrated by a newer version of Gatehouse');
      } finally {
        await database.close();
        await drop();
      }
    });
  });
}

describe('an up-to-date database', () => {
  it('two instances of one process migrating an up-to-date SQLite file at once: both succeed, nothing is locked', async () => {
    const url = `sqlite:${join(dir, 'up-to-date.db')}`;
    const a = await openDatabase(url);
    const b = await openDatabase(url);
    try {
      await migrate(a);
      // Before: the second waited for the first's write lock (busy_timeout blocks the thread), then failed "database is locked".
      const results = await Promise.all([migrate(a), migrate(b)]);
      expect(results).toEqual([{ applied: [] }, { applied: [] }]);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it.runIf(hasPostgres)('PostgreSQL: another schema\'s gatehouse_migrations later on the search_path is not read as ours', async () => {
    const { url, drop } = await freshPostgres();
    const decoy = `gh_decoy_newer_${Math.random().toString(36).slice(2, 8)}`;
    const admin = await openDatabase(url);
    await sql.raw(`create schema ${decoy}; create table ${decoy}.gatehouse_migrations (name varchar(255), timestamp varchar(255)); insert into ${decoy}.gatehouse_migrations values ('0099_elsewhere', 'x')`).execute(admin.kysely);
    await admin.close();
    const withDecoy = new URL(url);
    withDecoy.searchParams.set('options', `${withDecoy.searchParams.get('options') ?? ''},${decoy}`);
    const database = await openDatabase(withDecoy.toString());
    try {
      expect((await migrate(database)).applied).toContain('0001_foundation');
    } finally {
      await sql.raw(`drop schema ${decoy} cascade`).execute(database.kysely);
      await database.close();
      await drop();
    }
  });
});

describe('two instances of one process on one SQLite file', () => {
  it('create accounts at the same time without waiting on each other (users.create writes in one synchronous transaction)', async () => {
    const url = `sqlite:${join(dir, 'two-instances.db')}`;
    const a = await openDatabase(url);
    const b = await openDatabase(url);
    const auth = [a, b].map((database) => createGatehouse({ database, origin: 'http://localhost:3000', logger: { warn() {}, error() {} } }));
    try {
      await auth[0]!.migrate();
      // Before: a Kysely transaction held the write lock across awaits; the other connection's
      // busy wait blocked the thread, and half of these failed after 5 s with a 503.
      const created = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => auth[i % 2]!.users.create({ email: `pair${i}@example.com`, name: `Pair ${i}` })));
      expect(created.filter((r) => r.status === 'rejected')).toEqual([]);
      expect((await (await auth[0]!.storage()).listEvents({ limit: 50, type: 'user.created' })).length).toBe(10);
    } finally {
      for (const instance of auth) await instance.close();
      await a.close();
      await b.close();
    }
  });

  it('admin changes (Kysely transactions) on one while the other signs users up: nobody waits on the lock or fails', async () => {
    const url = `sqlite:${join(dir, 'two-instances-admin.db')}`;
    const a = await openDatabase(url);
    const b = await openDatabase(url);
    const auth = [a, b].map((database) => createGatehouse({ database, origin: 'http://localhost:3000', logger: { warn() {}, error() {} } }));
    try {
      await auth[0]!.migrate();
      const target = await auth[0]!.users.create({ email: 'target@example.com', name: 'Target' });
      // Before: a change held SQLite's write lock across awaits while the other connection's
      // insert waited for it synchronously (busy_timeout blocks the thread), so the change could
      // not finish: each overlap cost 5 s and ended in "database is locked" (a 503). Now every
      // connection of the process to the file takes turns.
      const failures: unknown[] = [];
      const changes = (async () => {
        for (let i = 0; i < 10; i++) await auth[0]!.users.setRole(target.id, i % 2 === 0 ? 'admin' : 'member', SYSTEM_ACTOR).catch((e: unknown) => failures.push(e));
      })();
      const signUps = (async () => {
        for (let i = 0; i < 10; i++) await auth[1]!.users.create({ email: `during${i}@example.com`, name: `During ${i}` }).catch((e: unknown) => failures.push(e));
      })();
      await Promise.all([changes, signUps]);
      expect(failures).toEqual([]);
      expect(await (await auth[1]!.storage()).findUserById(target.id)).toMatchObject({ role: 'member' });
      expect((await (await auth[0]!.storage()).listEvents({ limit: 50, type: 'user.created' })).length).toBe(11);
    } finally {
      for (const instance of auth) await instance.close();
      await a.close();
      await b.close();
    }
  });

  it('a connection that never gives its turn back makes the other fail after 5 s with a 503, not hang', async () => {
    const url = `sqlite:${join(dir, 'two-instances-held.db')}`;
    const a = await openDatabase(url);
    const b = await openDatabase(url);
    const auth = createGatehouse({ database: b, origin: 'http://localhost:3000', logger: { warn() {}, error() {} } });
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      await migrate(a);
      // Code that, inside a transaction on one connection, waits for Gatehouse on another
      // connection of this process to the same file.
      let outcome: unknown;
      await a.kysely.transaction().execute(async (trx) => {
        await sql`select 1`.execute(trx);
        const waiting = auth.users.create({ email: 'nested@example.com', name: 'Nested' }).then(
          () => 'created',
          (e: unknown) => e,
        );
        await vi.advanceTimersByTimeAsync(5000);
        outcome = await waiting;
      });
      expect(outcome).toMatchObject({ code: 'SERVICE_UNAVAILABLE', status: 503 });
      vi.useRealTimers();
      // The turn came back with the transaction: the next sign-up goes through.
      expect((await auth.users.create({ email: 'after@example.com', name: 'After' })).email).toBe('after@example.com');
    } finally {
      vi.useRealTimers();
      await auth.close();
      await a.close();
      await b.close();
    }
  });
});

describe('several processes migrating one SQLite file at once', { timeout: 120_000 }, () => {
  it('all succeed, and the schema is applied once', async () => {
    for (let round = 0; round < 3; round++) {
      const url = `sqlite:${join(dir, `parallel-${round}.db`)}`;
      // Before the fix, 4 of 6 rounds had a process fail on "table already exists" or "duplicate column".
      const results = await Promise.all(Array.from({ length: 4 }, () => gatehouse('migrate', '--database-url', url)));
      for (const r of results) expect(r.code, r.stderr).toBe(0);
      const applied = results.flatMap((r) => r.stdout.split('\n').filter((line) => line.includes('applied 0001_foundation')));
      expect(applied).toHaveLength(1);
    }
  });
});
