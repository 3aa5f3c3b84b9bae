import { randomUUID } from 'node:crypto';
import type { Selectable } from 'kysely';
import { ConflictError } from '../errors.js';
import type { Database } from './database.js';
import type { ChallengesTable, PasskeysTable } from './schema.js';
import type { Ceremony, ChallengeRecord, CredentialDeviceType, PasskeyRecord, PasskeyStorage } from './contract.js';
import { prepare, slot } from './prepared.js';
import { guard, isUniqueViolation } from './sql-errors.js';
import { emailTaken, eventValues, insertEventsIn, prepareEventInsert, toUser, userRow } from './sql-rows.js';
import { countOwned, deleteKeepingAWayIn, lockClientPending, lockUser } from './sql-credentials.js';

function credentialTaken(): ConflictError {
  return new ConflictError('CREDENTIAL_TAKEN', 'This passkey is already registered.');
}

function toPasskey(row: Selectable<PasskeysTable>): PasskeyRecord {
  return {
    id: row.id,
    userId: row.user_id,
    publicKey: row.public_key,
    counter: Number(row.counter),
    transports: row.transports === '' ? [] : row.transports.split(' '),
    deviceType: row.device_type as CredentialDeviceType,
    backedUp: row.backed_up === 1,
    aaguid: row.aaguid,
    name: row.name,
    createdAt: Number(row.created_at),
    lastUsedAt: row.last_used_at === null ? null : Number(row.last_used_at),
  };
}

function passkeyRow(p: PasskeyRecord): PasskeysTable {
  return {
    id: p.id,
    user_id: p.userId,
    public_key: p.publicKey,
    counter: p.counter,
    transports: p.transports.join(' '),
    device_type: p.deviceType,
    backed_up: p.backedUp ? 1 : 0,
    aaguid: p.aaguid,
    name: p.name,
    created_at: p.createdAt,
    last_used_at: p.lastUsedAt,
  };
}

function toChallenge(row: Selectable<ChallengesTable>): ChallengeRecord {
  return {
    id: row.id,
    bindingHash: row.binding_hash,
    ceremony: row.ceremony as Ceremony,
    challenge: row.challenge,
    userId: row.user_id,
    webauthnUserId: row.webauthn_user_id,
    email: row.email,
    name: row.name,
    ip: row.ip,
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
  };
}

/** The passkey half of the storage contract on Kysely (SQLite and PostgreSQL). */
export function createSqlPasskeyStorage(database: Database): PasskeyStorage {
  const db = database.kysely;

  // Adding a passkey with its event on SQLite: one synchronous transaction (see createUser).
  const passkeySlots = {
    id: slot<string>('id'),
    user_id: slot<string>('user_id'),
    public_key: slot<string>('public_key'),
    counter: slot<number>('counter'),
    transports: slot<string>('transports'),
    device_type: slot<string>('device_type'),
    backed_up: slot<number>('backed_up'),
    aaguid: slot<string>('aaguid'),
    name: slot<string>('name'),
    created_at: slot<number>('created_at'),
    last_used_at: slot<number | null>('last_used_at'),
  };
  const insertPasskeyRow = prepare<PasskeysTable & Record<string, unknown>>(database, db.insertInto('gatehouse_passkeys').values(passkeySlots));
  const insertEventRow = prepareEventInsert(database);

  // The queries of every passkey sign-in, prepared once (see prepared.ts).
  const consume = prepare<{ bindingHash: string; ceremony: Ceremony; now: number }>(
    database,
    db
      .deleteFrom('gatehouse_challenges')
      .where('binding_hash', '=', slot<string>('bindingHash'))
      .where('ceremony', '=', slot<string>('ceremony'))
      .where('expires_at', '>', slot<number>('now'))
      .returningAll(),
  );
  const findWithOwner = prepare<{ id: string }>(
    database,
    db
      .selectFrom('gatehouse_passkeys as p')
      .innerJoin('gatehouse_users as u', 'u.id', 'p.user_id')
      .selectAll('p')
      .select('u.webauthn_user_id as owner_handle')
      .where('p.id', '=', slot<string>('id')),
  );

  return {
    insertChallenge: (c, maxPendingPerIp, replaces) =>
      guard(() =>
        db.transaction().execute(async (trx) => {
          await trx.deleteFrom('gatehouse_challenges').where('expires_at', '<=', c.createdAt).execute();
          if (replaces !== undefined) await trx.deleteFrom('gatehouse_challenges').where('binding_hash', '=', replaces).execute();
          if (c.ip !== null) {
            await lockClientPending(trx, database.dialect, 'gatehouse_challenges', c.ip);
            const { pending } = await trx
              .selectFrom('gatehouse_challenges')
              .select((eb) => eb.fn.countAll<number>().as('pending'))
              .where('ip', '=', c.ip)
              .executeTakeFirstOrThrow();
            if (Number(pending) >= maxPendingPerIp) return false;
          }
          await trx
            .insertInto('gatehouse_challenges')
            .values({
              id: c.id,
              binding_hash: c.bindingHash,
              ceremony: c.ceremony,
              challenge: c.challenge,
              user_id: c.userId,
              webauthn_user_id: c.webauthnUserId,
              email: c.email,
              name: c.name,
              ip: c.ip,
              created_at: c.createdAt,
              expires_at: c.expiresAt,
            })
            .execute();
          return true;
        }),
      ),

    consumeChallenge: (bindingHash, ceremony, now) =>
      guard(async () => {
        // One DELETE ... RETURNING: of two racing verifications, exactly one gets the row (WA-02).
        const row = await consume.get({ bindingHash, ceremony, now });
        return row ? toChallenge(row as unknown as Selectable<ChallengesTable>) : null;
      }),

    deleteExpiredChallenges: (now) =>
      guard(async () => {
        const result = await db.deleteFrom('gatehouse_challenges').where('expires_at', '<=', now).executeTakeFirst();
        return Number(result.numDeletedRows);
      }),

    createUserWithPasskey: (user, passkey, events) =>
      guard(async () => {
        try {
          return await db.transaction().execute(async (trx) => {
            const row = await trx.insertInto('gatehouse_users').values(userRow(user, user.webauthnUserId)).returningAll().executeTakeFirstOrThrow();
            await trx.insertInto('gatehouse_passkeys').values(passkeyRow(passkey)).execute();
            await insertEventsIn(trx, events);
            return toUser(row);
          });
        } catch (error) {
          if (!isUniqueViolation(error)) throw error;
          const message = error instanceof Error ? error.message : '';
          throw /passkeys|PRIMARY|pkey/i.test(message) ? credentialTaken() : emailTaken();
        }
      }),

    ensureWebauthnUserId: (userId, candidate) =>
      guard(async () => {
        await db
          .updateTable('gatehouse_users')
          .set({ webauthn_user_id: candidate })
          .where('id', '=', userId)
          .where('webauthn_user_id', 'is', null)
          .execute();
        const row = await db.selectFrom('gatehouse_users').select('webauthn_user_id').where('id', '=', userId).executeTakeFirst();
        return row?.webauthn_user_id ?? candidate;
      }),

    insertPasskey: (passkey, events) =>
      guard(async () => {
        try {
          const { atomically } = database;
          if (events === undefined || events.length === 0) await db.insertInto('gatehouse_passkeys').values(passkeyRow(passkey)).execute();
          else if (atomically !== undefined)
            await atomically(() => {
              insertPasskeyRow.runNow({ ...passkeyRow(passkey) });
              for (const event of events) insertEventRow.runNow(eventValues(event));
            });
          else
            await db.transaction().execute(async (trx) => {
              await trx.insertInto('gatehouse_passkeys').values(passkeyRow(passkey)).execute();
              await insertEventsIn(trx, events);
            });
        } catch (error) {
          if (isUniqueViolation(error)) throw credentialTaken();
          throw error;
        }
      }),

    findPasskey: (id) =>
      guard(async () => {
        const row = await findWithOwner.get({ id });
        if (row === undefined) return null;
        const ownerHandle = row.owner_handle;
        return { passkey: toPasskey(row as unknown as Selectable<PasskeysTable>), webauthnUserId: typeof ownerHandle === 'string' ? ownerHandle : null };
      }),

    listPasskeys: (userId) =>
      guard(async () => {
        const rows = await db.selectFrom('gatehouse_passkeys').selectAll().where('user_id', '=', userId).orderBy('created_at').execute();
        return rows.map(toPasskey);
      }),


    renamePasskey: (id, userId, name) =>
      guard(async () => {
        const result = await db.updateTable('gatehouse_passkeys').set({ name }).where('id', '=', id).where('user_id', '=', userId).executeTakeFirst();
        return Number(result.numUpdatedRows) === 1;
      }),

    deletePasskey: (id, userId, events) =>
      guard(() =>
        deleteKeepingAWayIn(
          db,
          userId,
          async (trx) => {
            const deleted = Number((await trx.deleteFrom('gatehouse_passkeys').where('id', '=', id).where('user_id', '=', userId).executeTakeFirst()).numDeletedRows) === 1;
            // Rolled back with the deletion when it would leave no way in.
            if (deleted) await insertEventsIn(trx, events);
            return deleted;
          },
          // Another passkey, a linked provider or an unused recovery code still gets the user in.
          async (trx) => (await countOwned(trx, 'gatehouse_passkeys', userId)) + (await countOwned(trx, 'gatehouse_identities', userId)) + (await countOwned(trx, 'gatehouse_recovery_codes', userId)),
        ),
      ),

    replaceRecoveryCodes: (userId, codeHashes, now, events) =>
      guard(() =>
        db.transaction().execute(async (trx) => {
          // Two replacements at once must not both keep their codes: under READ COMMITTED each
          // DELETE removes only the rows it saw, and both INSERTs stay (20 valid codes). Under
          // the user's lock they take turns.
          await lockUser(trx, userId);
          await trx.deleteFrom('gatehouse_recovery_codes').where('user_id', '=', userId).execute();
          await insertEventsIn(trx, events);
          if (codeHashes.length === 0) return;
          await trx
            .insertInto('gatehouse_recovery_codes')
            .values(codeHashes.map((hash) => ({ id: randomUUID(), user_id: userId, code_hash: hash, created_at: now, used_at: null })))
            .execute();
        }),
      ),

    consumeRecoveryCode: (userId, codeHash, now) =>
      guard(async () => {
        const result = await db
          .updateTable('gatehouse_recovery_codes')
          .set({ used_at: now })
          .where('user_id', '=', userId)
          .where('code_hash', '=', codeHash)
          .where('used_at', 'is', null)
          .executeTakeFirst();
        return Number(result.numUpdatedRows) === 1;
      }),

    countRecoveryCodes: (userId) =>
      guard(async () => {
        const row = await db
          .selectFrom('gatehouse_recovery_codes')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('user_id', '=', userId)
          .where('used_at', 'is', null)
          .executeTakeFirstOrThrow();
        return Number(row.n);
      }),
  };
}
