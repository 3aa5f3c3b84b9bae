import { sql, type Kysely } from 'kysely';
import type { Dialect } from '../database.js';

/** Users, database sessions and the append-only audit log. Never edit: add a new migration. */
export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  const time = dialect === 'postgres' ? 'bigint' : 'integer';

  await db.schema
    .createTable('gatehouse_users')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('email', 'text', (c) => c.notNull())
    // Lower-cased copy: the unique index makes emails unique case-insensitively.
    .addColumn('email_normalized', 'text', (c) => c.notNull().unique())
    .addColumn('name', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('disabled', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', time, (c) => c.notNull())
    .addColumn('updated_at', time, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('gatehouse_sessions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull().references('gatehouse_users.id').onDelete('cascade'))
    .addColumn('secret_hash', 'text', (c) => c.notNull())
    .addColumn('created_at', time, (c) => c.notNull())
    .addColumn('last_seen_at', time, (c) => c.notNull())
    .addColumn('expires_at', time, (c) => c.notNull())
    .addColumn('absolute_expires_at', time, (c) => c.notNull())
    .addColumn('auth_time', time, (c) => c.notNull())
    .addColumn('amr', 'text', (c) => c.notNull())
    .addColumn('ip', 'text')
    .addColumn('user_agent', 'text')
    .execute();
  await db.schema.createIndex('gatehouse_sessions_user_id').on('gatehouse_sessions').column('user_id').execute();
  await db.schema.createIndex('gatehouse_sessions_expires_at').on('gatehouse_sessions').column('expires_at').execute();

  await db.schema
    .createTable('gatehouse_auth_events')
    .addColumn('id', dialect === 'postgres' ? 'bigserial' : 'integer', (c) =>
      dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement(),
    )
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text')
    .addColumn('actor_id', 'text')
    .addColumn('session_id', 'text')
    .addColumn('ip', 'text')
    .addColumn('user_agent', 'text')
    .addColumn('data', 'text')
    .addColumn('created_at', time, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('gatehouse_auth_events_user_id').on('gatehouse_auth_events').columns(['user_id', 'id']).execute();
  await db.schema.createIndex('gatehouse_auth_events_type').on('gatehouse_auth_events').columns(['type', 'id']).execute();

  // Append-only: the database itself refuses to change or delete an audit event.
  if (dialect === 'postgres') {
    await sql`CREATE FUNCTION gatehouse_auth_events_append_only() RETURNS trigger AS $$
      BEGIN RAISE EXCEPTION 'gatehouse_auth_events is append-only'; END; $$ LANGUAGE plpgsql`.execute(db);
    await sql`CREATE TRIGGER gatehouse_auth_events_no_change BEFORE UPDATE OR DELETE ON gatehouse_auth_events
      FOR EACH ROW EXECUTE FUNCTION gatehouse_auth_events_append_only()`.execute(db);
  } else {
    await sql`CREATE TRIGGER gatehouse_auth_events_no_update BEFORE UPDATE ON gatehouse_auth_events
      BEGIN SELECT RAISE(ABORT, 'gatehouse_auth_events is append-only'); END`.execute(db);
    await sql`CREATE TRIGGER gatehouse_auth_events_no_delete BEFORE DELETE ON gatehouse_auth_events
      BEGIN SELECT RAISE(ABORT, 'gatehouse_auth_events is append-only'); END`.execute(db);
  }
}
