import type { Kysely } from 'kysely';
import type { Dialect } from '../database.js';

/** OAuth/OIDC: linked provider identities and pending sign-in transactions. Never edit: add a new migration. */
export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  const time = dialect === 'postgres' ? 'bigint' : 'integer';

  await db.schema
    .createTable('gatehouse_identities')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull().references('gatehouse_users.id').onDelete('cascade'))
    // The configured provider id ("google", "dev", ...): display and unlink only.
    .addColumn('provider', 'text', (c) => c.notNull())
    // Identity is (issuer, subject), never the email (OIDC-13).
    .addColumn('issuer', 'text', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('email', 'text')
    .addColumn('email_verified', 'integer', (c) => c.notNull())
    // Provider tokens, only when the app opted in, encrypted (JWE) at rest.
    .addColumn('tokens', 'text')
    .addColumn('created_at', time, (c) => c.notNull())
    .addColumn('last_used_at', time)
    .execute();
  await db.schema.createIndex('gatehouse_identities_issuer_subject').unique().on('gatehouse_identities').columns(['issuer', 'subject']).execute();
  await db.schema.createIndex('gatehouse_identities_user_id').on('gatehouse_identities').column('user_id').execute();

  await db.schema
    .createTable('gatehouse_oauth_transactions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    // Hash of the transaction cookie's secret: binds the attempt to the browser that started it (OIDC-01).
    .addColumn('binding_hash', 'text', (c) => c.notNull().unique())
    .addColumn('provider', 'text', (c) => c.notNull())
    .addColumn('intent', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('nonce', 'text', (c) => c.notNull())
    .addColumn('code_verifier', 'text', (c) => c.notNull())
    .addColumn('return_to', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text')
    .addColumn('ip', 'text')
    .addColumn('created_at', time, (c) => c.notNull())
    .addColumn('expires_at', time, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('gatehouse_oauth_transactions_expires_at').on('gatehouse_oauth_transactions').column('expires_at').execute();
  await db.schema.createIndex('gatehouse_oauth_transactions_ip').on('gatehouse_oauth_transactions').column('ip').execute();
}
