import { sql, type Kysely, type Transaction } from 'kysely';
import type { DeleteIdentityResult } from './contract.js';
import type { GatehouseTables } from './schema.js';

/**
 * Serialises a user's credential changes: writes the user's row (a no-op update), so PostgreSQL
 * holds a row lock (a no-key one: sessions being created for the user are not blocked) and
 * SQLite the write lock until the transaction ends. A concurrent change for the same user waits,
 * then sees this one's result.
 */
export async function lockUser(trx: Transaction<GatehouseTables>, userId: string): Promise<void> {
  await trx.updateTable('gatehouse_users').set((eb) => ({ updated_at: eb.ref('updated_at') })).where('id', '=', userId).execute();
}

/**
 * PostgreSQL: serialises the count-then-insert of one client's pending ceremonies (a transaction-
 * scoped advisory lock on the table and IP). Under READ COMMITTED, 40 requests at once each
 * counted the rows committed before them and all inserted: 13 pending rows against a bound of 5.
 * SQLite needs nothing: its transactions take the write lock first (BEGIN IMMEDIATE).
 */
export async function lockClientPending(trx: Transaction<GatehouseTables>, dialect: 'sqlite' | 'postgres', table: string, ip: string): Promise<void> {
  if (dialect === 'postgres') await sql`select pg_advisory_xact_lock(hashtext(${`${table}:${ip}`}))`.execute(trx);
}

/** How many rows of `table` belong to the user (recovery codes: only unused ones). */
export async function countOwned(trx: Transaction<GatehouseTables>, table: 'gatehouse_passkeys' | 'gatehouse_identities' | 'gatehouse_recovery_codes', userId: string): Promise<number> {
  let query = trx.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).where('user_id', '=', userId);
  if (table === 'gatehouse_recovery_codes') query = query.where('used_at', 'is', null);
  return Number((await query.executeTakeFirstOrThrow()).n);
}

/** Thrown inside the deletion's transaction to roll it back. */
class LastMethod extends Error {}

/**
 * Deletes one of a user's ways to sign in (a passkey, a linked identity) in one transaction, under
 * the user's lock, and rolls it back when `waysLeft` counts none afterwards: two deletions at once
 * can never both pass the check.
 */
export function deleteKeepingAWayIn(
  db: Kysely<GatehouseTables>,
  userId: string,
  remove: (trx: Transaction<GatehouseTables>) => Promise<boolean>,
  waysLeft: (trx: Transaction<GatehouseTables>) => Promise<number>,
): Promise<DeleteIdentityResult> {
  return db
    .transaction()
    .execute(async (trx) => {
      await lockUser(trx, userId);
      if (!(await remove(trx))) return 'not_found' as const;
      if ((await waysLeft(trx)) === 0) throw new LastMethod();
      return 'deleted' as const;
    })
    .catch((error: unknown) => {
      if (error instanceof LastMethod) return 'last_method' as const;
      throw error;
    });
}
