import type { Kysely } from 'kysely';
import type { Dialect } from '../database.js';

/**
 * JWT mode: signing keys (private halves encrypted at rest), rotating refresh tokens (only
 * hashes), and revocations that every instance loads into memory. Never edit: add a new migration.
 */
export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  const time = dialect === 'postgres' ? 'bigint' : 'integer';

  await db.schema
    .createTable('gatehouse_signing_keys')
    // The JWS `kid`: random, never derived from the key.
    .addColumn('kid', 'text', (c) => c.primaryKey())
    .addColumn('alg', 'text', (c) => c.notNull())
    .addColumn('public_jwk', 'text', (c) => c.notNull())
    // The private JWK as a compact JWE (dir + A256GCM) under a key derived from the configured secret.
    .addColumn('private_jwe', 'text', (c) => c.notNull())
    .addColumn('created_at', time, (c) => c.notNull())
    // Set when a newer key takes over signing; the key still verifies until retires_at.
    .addColumn('superseded_at', time)
    .addColumn('retires_at', time)
    .execute();

  await db.schema
    .createTable('gatehouse_refresh_tokens')
    .addColumn('id', 'text', (c) => c.primaryKey())
    // The family is the session: ending the session deletes every token of the family.
    .addColumn('family_id', 'text', (c) => c.notNull().references('gatehouse_sessions.id').onDelete('cascade'))
    // A parent has at most one child: the unique index is the last line against two live successors (RT-04).
    .addColumn('parent_id', 'text', (c) => c.unique())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('secret_hash', 'text', (c) => c.notNull())
    .addColumn('created_at', time, (c) => c.notNull())
    // The family's absolute end: the same on every token of a family (RT-05).
    .addColumn('expires_at', time, (c) => c.notNull())
    .addColumn('rotated_at', time)
    .execute();
  await db.schema.createIndex('gatehouse_refresh_tokens_family').on('gatehouse_refresh_tokens').column('family_id').execute();

  await db.schema
    .createTable('gatehouse_revocations')
    .addColumn('id', 'text', (c) => c.primaryKey())
    // "session": access tokens of that session id fail; "user": tokens of that user issued before `at` fail.
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('at', time, (c) => c.notNull())
    // After this no access token the entry could refuse is still unexpired: the row can go.
    .addColumn('expires_at', time, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('gatehouse_revocations_expires_at').on('gatehouse_revocations').column('expires_at').execute();
  await db.schema.createIndex('gatehouse_revocations_subject').on('gatehouse_revocations').columns(['subject', 'kind']).execute();
}
