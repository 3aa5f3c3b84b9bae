import { Migrator, sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import type { Database, Dialect } from './database.js';
import * as m0001 from './migrations/0001_foundation.js';
import * as m0002 from './migrations/0002_passkeys.js';
import * as m0003 from './migrations/0003_oauth.js';
import * as m0004 from './migrations/0004_jwt.js';
import * as m0005 from './migrations/0005_revocations_at.js';

interface DialectMigration {
  up(db: Kysely<unknown>, dialect: Dialect): Promise<void>;
}

/** Every migration shipped with the package, in order. Later features append; nothing is edited. */
const MIGRATIONS: ReadonlyArray<readonly [string, DialectMigration]> = [
  ['0001_foundation', m0001],
  ['0002_passkeys', m0002],
  ['0003_oauth', m0003],
  ['0004_jwt', m0004],
  ['0005_revocations_at', m0005],
];

class ShippedMigrations implements MigrationProvider {
  constructor(private readonly dialect: Dialect) {}
  async getMigrations(): Promise<Record<string, Migration>> {
    const out: Record<string, Migration> = {};
    for (const [name, migration] of MIGRATIONS) {
      out[name] = { up: (db) => migration.up(db, this.dialect) };
    }
    return out;
  }
}

/**
 * On PostgreSQL the bookkeeping tables live in the connection's current schema, named
 * explicitly: Kysely otherwise looks for them by name in every schema, and a
 * `gatehouse_migrations` table in another schema (another app, another test run) made it
 * skip creating ours.
 */
async function createMigrator(database: Database): Promise<Migrator> {
  const db = database.kysely as unknown as Kysely<unknown>;
  let migrationTableSchema: string | undefined;
  if (database.dialect === 'postgres') {
    const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(db);
    migrationTableSchema = rows[0]?.schema;
  }
  return new Migrator({
    db,
    provider: new ShippedMigrations(database.dialect),
    migrationTableName: 'gatehouse_migrations',
    migrationLockTableName: 'gatehouse_migrations_lock',
    ...(migrationTableSchema ? { migrationTableSchema } : {}),
  });
}

export interface MigrateResult {
  applied: string[];
}

export interface MigrateOptions {
  /** Called once per migration applied, for progress output. */
  onApplied?: (name: string) => void;
}

/** Applies every pending migration in one run. Safe to call from several processes at once. */
export async function migrate(database: Database, options: MigrateOptions = {}): Promise<MigrateResult> {
  const migrator = await createMigrator(database);
  const { error, results = [] } = await migrator.migrateToLatest();
  const applied = results.filter((r) => r.status === 'Success').map((r) => r.migrationName);
  for (const name of applied) options.onApplied?.(name);
  if (error !== undefined) {
    const failed = results.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`Migration ${failed} failed on ${database.description}: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }
  return { applied };
}

/** Names of shipped migrations not yet applied (for readiness checks and `gatehouse migrate --status`). */
export async function pendingMigrations(database: Database): Promise<string[]> {
  const migrator = await createMigrator(database);
  const all = await migrator.getMigrations();
  return all.filter((m) => m.executedAt === undefined).map((m) => m.name);
}
