import { Migrator, sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import type { Database, Dialect } from './database.js';
import * as m0001 from './migrations/0001_foundation.js';
import * as m0002 from './migrations/0002_passkeys.js';
import * as m0003 from './migrations/0003_oauth.js';
import * as m0004 from './migrations/0004_jwt.js';
import * as m0005 from './migrations/0005_revocations_at.js';
import * as m0006 from './migrations/0006_email_nfc.js';

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
  ['0006_email_nfc', m0006],
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

/** The database was migrated by a newer Gatehouse: this version does not know all its migrations. */
export class NewerSchemaError extends Error {
  constructor(
    readonly unknown: string[],
    description: string,
  ) {
    super(
      `${description} was migrated by a newer version of Gatehouse (migration${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} ${unknown.length > 1 ? 'are' : 'is'} unknown to this one). Upgrade Gatehouse to the version that migrated it (or later); this version must not run on it.`,
    );
    this.name = 'NewerSchemaError';
  }
}

/**
 * Names of applied migrations this version does not ship (a newer Gatehouse applied them). On
 * PostgreSQL the table is read in the connection's current schema, as the migrator does: a
 * `gatehouse_migrations` of another schema later on the search_path is not ours.
 */
async function unknownMigrations(database: Database): Promise<string[]> {
  const db = database.kysely as unknown as Kysely<{ gatehouse_migrations: { name: string } }>;
  const shipped = new Set(MIGRATIONS.map(([name]) => name));
  try {
    const schema = database.dialect === 'postgres' ? (await sql<{ schema: string }>`select current_schema() as schema`.execute(db)).rows[0]?.schema : undefined;
    const rows = await (schema === undefined ? db : db.withSchema(schema)).selectFrom('gatehouse_migrations').select('name').execute();
    return rows.map((r) => r.name).filter((name) => !shipped.has(name));
  } catch {
    // No bookkeeping table yet: a new database.
    return [];
  }
}

/**
 * Applies every pending migration in one transaction (PostgreSQL and SQLite both run DDL in
 * transactions): a failure leaves the database as it was. Safe to call from several processes
 * at once (PostgreSQL: an advisory lock; SQLite: the write lock, taken first).
 */
export async function migrate(database: Database, options: MigrateOptions = {}): Promise<MigrateResult> {
  const unknown = await unknownMigrations(database);
  if (unknown.length > 0) throw new NewerSchemaError(unknown, database.description);
  const migrator = await createMigrator(database);
  // Nothing pending: nothing to lock. (On SQLite the run's transaction takes the write lock; two
  // instances starting together on an up-to-date file would otherwise wait on each other.)
  if ((await migrator.getMigrations()).every((m) => m.executedAt !== undefined)) return { applied: [] };
  const { error, results = [] } = await migrator.migrateToLatest();
  if (error !== undefined) {
    // The run was one transaction: nothing it did stays, including the migrations Kysely reports as done.
    const failed = results.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`Migration ${failed} failed on ${database.description}, and the whole run was rolled back (nothing was applied): ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }
  const applied = results.filter((r) => r.status === 'Success').map((r) => r.migrationName);
  for (const name of applied) options.onApplied?.(name);
  return { applied };
}

/**
 * Names of shipped migrations not yet applied (for readiness checks and `gatehouse migrate
 * --status`). Throws `NewerSchemaError` when a newer Gatehouse migrated the database.
 */
export async function pendingMigrations(database: Database): Promise<string[]> {
  const unknown = await unknownMigrations(database);
  if (unknown.length > 0) throw new NewerSchemaError(unknown, database.description);
  const migrator = await createMigrator(database);
  const all = await migrator.getMigrations();
  return all.filter((m) => m.executedAt === undefined).map((m) => m.name);
}
