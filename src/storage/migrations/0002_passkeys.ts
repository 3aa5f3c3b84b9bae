import type { Kysely } from 'kysely';
import type { Dialect } from '../database.js';

/** Passkeys, their single-use ceremony challenges, and recovery codes. Never edit: add a new migration. */
export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  const time = dialect === 'postgres' ? 'bigint' : 'integer';

  // The random WebAuthn user handle (WA-01: no PII in user.id), created with the first passkey.
  await db.schema.alterTable('gatehouse_users').addColumn('webauthn_user_id', 'text').execute();
  await db.schema.createIndex('gatehouse_users_webauthn_user_id').unique().on('gatehouse_users').column('webauthn_user_id').execute();

  await db.schema
    .createTable('gatehouse_passkeys')
    // The credential id is the primary key: unique across ALL users (WA-12).
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull().references('gatehouse_users.id').onDelete('cascade'))
    .addColumn('public_key', 'text', (c) => c.notNull())
    .addColumn('counter', time, (c) => c.notNull())
    .addColumn('transports', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('device_type', 'text', (c) => c.notNull())
    .addColumn('backed_up', 'integer', (c) => c.notNull())
    .addColumn('aaguid', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('created_at', time, (c) => c.notNull())
    .addColumn('last_used_at', time)
    .execute();
  await db.schema.createIndex('gatehouse_passkeys_user_id').on('gatehouse_passkeys').column('user_id').execute();

  await db.schema
    .createTable('gatehouse_challenges')
    .addColumn('id', 'text', (c) => c.primaryKey())
    // Hash of the ceremony cookie's secret: binds the challenge to the browser that asked (WA-02/03).
    .addColumn('binding_hash', 'text', (c) => c.notNull().unique())
    .addColumn('ceremony', 'text', (c) => c.notNull())
    .addColumn('challenge', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text')
    .addColumn('webauthn_user_id', 'text')
    .addColumn('email', 'text')
    .addColumn('name', 'text')
    .addColumn('ip', 'text')
    .addColumn('created_at', time, (c) => c.notNull())
    .addColumn('expires_at', time, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('gatehouse_challenges_expires_at').on('gatehouse_challenges').column('expires_at').execute();
  await db.schema.createIndex('gatehouse_challenges_ip').on('gatehouse_challenges').column('ip').execute();

  await db.schema
    .createTable('gatehouse_recovery_codes')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull().references('gatehouse_users.id').onDelete('cascade'))
    .addColumn('code_hash', 'text', (c) => c.notNull())
    .addColumn('created_at', time, (c) => c.notNull())
    .addColumn('used_at', time)
    .execute();
  await db.schema.createIndex('gatehouse_recovery_codes_user').on('gatehouse_recovery_codes').columns(['user_id', 'code_hash']).execute();
}
