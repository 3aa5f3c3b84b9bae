import type { Selectable } from 'kysely';
import { ConflictError } from '../errors.js';
import type { Database } from './database.js';
import type { IdentitiesTable, OAuthTransactionsTable } from './schema.js';
import type { IdentityRecord, OAuthIntent, OAuthStorage, OAuthTransactionRecord } from './contract.js';
import { guard, isUniqueViolation } from './sql-errors.js';
import { emailTaken, toUser, userRow } from './sql-rows.js';
import { countOwned, deleteKeepingAWayIn, lockClientPending } from './sql-credentials.js';

function identityTaken(): ConflictError {
  return new ConflictError('IDENTITY_TAKEN', 'This provider account is already linked to an account.');
}

function toIdentity(row: Selectable<IdentitiesTable>): IdentityRecord {
  return {
    id: row.id,
    userId: row.user_id,
    provider: row.provider,
    issuer: row.issuer,
    subject: row.subject,
    email: row.email,
    emailVerified: row.email_verified === 1,
    tokens: row.tokens,
    createdAt: Number(row.created_at),
    lastUsedAt: row.last_used_at === null ? null : Number(row.last_used_at),
  };
}

function identityRow(i: IdentityRecord): IdentitiesTable {
  return {
    id: i.id,
    user_id: i.userId,
    provider: i.provider,
    issuer: i.issuer,
    subject: i.subject,
    email: i.email,
    email_verified: i.emailVerified ? 1 : 0,
    tokens: i.tokens,
    created_at: i.createdAt,
    last_used_at: i.lastUsedAt,
  };
}

function toTransaction(row: Selectable<OAuthTransactionsTable>): OAuthTransactionRecord {
  return {
    id: row.id,
    bindingHash: row.binding_hash,
    provider: row.provider,
    intent: row.intent as OAuthIntent,
    state: row.state,
    nonce: row.nonce,
    codeVerifier: row.code_verifier,
    returnTo: row.return_to,
    userId: row.user_id,
    ip: row.ip,
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
  };
}

/** The OAuth half of the storage contract on Kysely (SQLite and PostgreSQL). */
export function createSqlOAuthStorage(database: Database): OAuthStorage {
  const db = database.kysely;

  return {
    insertOAuthTransaction: (t, maxPendingPerIp, replaces) =>
      guard(() =>
        db.transaction().execute(async (trx) => {
          await trx.deleteFrom('gatehouse_oauth_transactions').where('expires_at', '<=', t.createdAt).execute();
          if (replaces !== undefined) await trx.deleteFrom('gatehouse_oauth_transactions').where('binding_hash', '=', replaces).execute();
          if (t.ip !== null) {
            await lockClientPending(trx, database.dialect, 'gatehouse_oauth_transactions', t.ip);
            const { pending } = await trx
              .selectFrom('gatehouse_oauth_transactions')
              .select((eb) => eb.fn.countAll<number>().as('pending'))
              .where('ip', '=', t.ip)
              .executeTakeFirstOrThrow();
            if (Number(pending) >= maxPendingPerIp) return false;
          }
          await trx
            .insertInto('gatehouse_oauth_transactions')
            .values({
              id: t.id,
              binding_hash: t.bindingHash,
              provider: t.provider,
              intent: t.intent,
              state: t.state,
              nonce: t.nonce,
              code_verifier: t.codeVerifier,
              return_to: t.returnTo,
              user_id: t.userId,
              ip: t.ip,
              created_at: t.createdAt,
              expires_at: t.expiresAt,
            })
            .execute();
          return true;
        }),
      ),

    consumeOAuthTransaction: (bindingHash, state, now) =>
      guard(async () => {
        // One DELETE ... RETURNING: a replayed callback finds nothing (OIDC-03).
        const row = await db
          .deleteFrom('gatehouse_oauth_transactions')
          .where('binding_hash', '=', bindingHash)
          .where('state', '=', state)
          .where('expires_at', '>', now)
          .returningAll()
          .executeTakeFirst();
        return row ? toTransaction(row) : null;
      }),

    deleteExpiredOAuthTransactions: (now) =>
      guard(async () => {
        const result = await db.deleteFrom('gatehouse_oauth_transactions').where('expires_at', '<=', now).executeTakeFirst();
        return Number(result.numDeletedRows);
      }),

    findIdentity: (issuer, subject) =>
      guard(async () => {
        const row = await db.selectFrom('gatehouse_identities').selectAll().where('issuer', '=', issuer).where('subject', '=', subject).executeTakeFirst();
        return row ? toIdentity(row) : null;
      }),

    insertIdentity: (identity) =>
      guard(async () => {
        try {
          await db.insertInto('gatehouse_identities').values(identityRow(identity)).execute();
        } catch (error) {
          if (isUniqueViolation(error)) throw identityTaken();
          throw error;
        }
      }),

    createUserWithIdentity: (user, identity) =>
      guard(async () => {
        try {
          return await db.transaction().execute(async (trx) => {
            const row = await trx.insertInto('gatehouse_users').values(userRow(user)).returningAll().executeTakeFirstOrThrow();
            await trx.insertInto('gatehouse_identities').values(identityRow(identity)).execute();
            return toUser(row);
          });
        } catch (error) {
          if (!isUniqueViolation(error)) throw error;
          const message = error instanceof Error ? error.message : '';
          throw /identities/i.test(message) ? identityTaken() : emailTaken();
        }
      }),

    recordIdentityUse: (id, update) =>
      guard(async () => {
        await db
          .updateTable('gatehouse_identities')
          .set({
            email: update.email,
            email_verified: update.emailVerified ? 1 : 0,
            last_used_at: update.lastUsedAt,
            ...(update.tokens === undefined ? {} : { tokens: update.tokens }),
          })
          .where('id', '=', id)
          .execute();
      }),

    listIdentities: (userId) =>
      guard(async () => {
        const rows = await db.selectFrom('gatehouse_identities').selectAll().where('user_id', '=', userId).orderBy('created_at').execute();
        return rows.map(toIdentity);
      }),

    deleteIdentity: (id, userId) =>
      guard(() =>
        deleteKeepingAWayIn(
          db,
          userId,
          async (trx) => Number((await trx.deleteFrom('gatehouse_identities').where('id', '=', id).where('user_id', '=', userId).executeTakeFirst()).numDeletedRows) === 1,
          // Another linked provider or a passkey still gets the user in.
          async (trx) => (await countOwned(trx, 'gatehouse_identities', userId)) + (await countOwned(trx, 'gatehouse_passkeys', userId)),
        ),
      ),
  };
}
