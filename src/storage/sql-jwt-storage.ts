import type { Insertable, Kysely, Selectable, Transaction } from 'kysely';
import type { Database } from './database.js';
import type { GatehouseTables, RefreshTokensTable, RevocationsTable, SigningKeysTable } from './schema.js';
import type { JwtStorage, RefreshTokenRecord, RevocationRecord, SigningKeyRecord } from './contract.js';
import { guard, isForeignKeyViolation, isUniqueViolation } from './sql-errors.js';
import { eventValues, insertEventsIn, prepareEventInsert } from './sql-rows.js';
import { prepare, slot } from './prepared.js';

const num = (value: number | null): number | null => (value === null ? null : Number(value));

function keyRow(k: SigningKeyRecord): Insertable<SigningKeysTable> {
  return { kid: k.kid, alg: k.alg, public_jwk: k.publicJwk, private_jwe: k.privateJwe, created_at: k.createdAt, superseded_at: k.supersededAt, retires_at: k.retiresAt };
}

/** Supersedes every key before `kid` (created at `now`) in the signer's order (created_at, then kid); returns their kids. */
async function supersedeIn(trx: Kysely<GatehouseTables>, kid: string, now: number, retiresAt: number): Promise<string[]> {
  const rows = await trx
    .updateTable('gatehouse_signing_keys')
    .set({ superseded_at: now, retires_at: retiresAt })
    .where((eb) => eb.or([eb('created_at', '<', now), eb.and([eb('created_at', '=', now), eb('kid', '<', kid)])]))
    .where('superseded_at', 'is', null)
    .returning('kid')
    .execute();
  return rows.map((r) => r.kid);
}

/** Writes a revocation inside a transaction (`insertRevocation`, and the changes that revoke as they commit). */
export async function insertRevocationIn(trx: Transaction<GatehouseTables>, r: RevocationRecord): Promise<void> {
  // A user's newer "not before" covers every older one (a later moment, a later end), so only
  // the newest row is kept: the table holds at most one per user however often their claims
  // change (a name changed back and forth 600 times a minute made 600 rows that every instance
  // reloads).
  if (r.kind === 'user') {
    await trx.deleteFrom('gatehouse_revocations').where('kind', '=', 'user').where('subject', '=', r.subject).where('at', '<=', r.at).where('expires_at', '<=', r.expiresAt).execute();
  }
  await trx.insertInto('gatehouse_revocations').values({ id: r.id, kind: r.kind, subject: r.subject, at: r.at, expires_at: r.expiresAt }).execute();
}

function toKey(row: Selectable<SigningKeysTable>): SigningKeyRecord {
  return {
    kid: row.kid,
    alg: row.alg,
    publicJwk: row.public_jwk,
    privateJwe: row.private_jwe,
    createdAt: Number(row.created_at),
    supersededAt: num(row.superseded_at),
    retiresAt: num(row.retires_at),
  };
}

function toRefreshToken(row: Selectable<RefreshTokensTable>): RefreshTokenRecord {
  return {
    id: row.id,
    familyId: row.family_id,
    parentId: row.parent_id,
    userId: row.user_id,
    secretHash: row.secret_hash,
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
    rotatedAt: num(row.rotated_at),
  };
}

function refreshRow(t: RefreshTokenRecord): RefreshTokensTable {
  return {
    id: t.id,
    family_id: t.familyId,
    parent_id: t.parentId,
    user_id: t.userId,
    secret_hash: t.secretHash,
    created_at: t.createdAt,
    expires_at: t.expiresAt,
    rotated_at: t.rotatedAt,
  };
}

function toRevocation(row: Selectable<RevocationsTable>): RevocationRecord {
  return { id: row.id, kind: row.kind === 'user' ? 'user' : 'session', subject: row.subject, at: Number(row.at), expiresAt: Number(row.expires_at) };
}

/** The JWT-mode storage on Kysely (SQLite and PostgreSQL). */
export function createSqlJwtStorage(database: Database): JwtStorage {
  const db = database.kysely;
  // SQLite: a rotation is one synchronous BEGIN IMMEDIATE transaction (Database.atomically). A
  // Kysely transaction would hold the write lock across awaits, and another connection of the
  // same process waiting for it (busy_timeout blocks the thread) would stall both for 5 s.
  const keySlots = {
    kid: slot<string>('kid'),
    alg: slot<string>('alg'),
    public_jwk: slot<string>('public_jwk'),
    private_jwe: slot<string>('private_jwe'),
    created_at: slot<number>('created_at'),
    superseded_at: slot<number | null>('superseded_at'),
    retires_at: slot<number | null>('retires_at'),
  };
  const insertKeyRow = prepare<Required<Insertable<SigningKeysTable>>>(database, db.insertInto('gatehouse_signing_keys').values(keySlots));
  const supersedeRows = prepare<{ now: number; kid: string; retiresAt: number }>(
    database,
    db
      .updateTable('gatehouse_signing_keys')
      .set({ superseded_at: slot<number>('now'), retires_at: slot<number>('retiresAt') })
      .where((eb) => eb.or([eb('created_at', '<', slot<number>('now')), eb.and([eb('created_at', '=', slot<number>('now')), eb('kid', '<', slot<string>('kid'))])]))
      .where('superseded_at', 'is', null)
      .returning('kid'),
  );
  const insertEventRow = prepareEventInsert(database);
  return {
    insertSigningKey: (k) =>
      guard(async () => {
        await db.insertInto('gatehouse_signing_keys').values(keyRow(k)).execute();
      }),

    listSigningKeys: (now) =>
      guard(async () => {
        const rows = await db
          .selectFrom('gatehouse_signing_keys')
          .selectAll()
          .where((eb) => eb.or([eb('retires_at', 'is', null), eb('retires_at', '>', now)]))
          .orderBy('created_at', 'desc')
          .orderBy('kid', 'desc')
          .execute();
        return rows.map(toKey);
      }),

    supersedeSigningKeys: (kid, now, retiresAt) => guard(() => supersedeIn(db, kid, now, retiresAt)),

    rotateSigningKey: (key, retiresAt, event) =>
      guard(() => {
        const { atomically } = database;
        if (atomically !== undefined) {
          return atomically(() => {
            insertKeyRow.runNow(keyRow(key) as Required<Insertable<SigningKeysTable>>);
            const superseded = supersedeRows.allNow({ now: key.createdAt, kid: key.kid, retiresAt }).map((row) => String(row.kid));
            insertEventRow.runNow(eventValues(event(superseded)));
            return superseded;
          });
        }
        return db.transaction().execute(async (trx) => {
          await trx.insertInto('gatehouse_signing_keys').values(keyRow(key)).execute();
          const superseded = await supersedeIn(trx, key.kid, key.createdAt, retiresAt);
          await insertEventsIn(trx, [event(superseded)]);
          return superseded;
        });
      }),

    insertRefreshToken: (t) =>
      guard(async () => {
        try {
          await db.insertInto('gatehouse_refresh_tokens').values(refreshRow(t)).execute();
          return true;
        } catch (error) {
          // The session was ended since it was created: the foreign key refuses an orphan family.
          if (isForeignKeyViolation(error)) return false;
          throw error;
        }
      }),

    findRefreshToken: (id) =>
      guard(async () => {
        const row = await db.selectFrom('gatehouse_refresh_tokens').selectAll().where('id', '=', id).executeTakeFirst();
        return row ? toRefreshToken(row) : null;
      }),

    rotateRefreshToken: (parentId, child, now) =>
      guard(async () => {
        // The child first: the unique parent_id lets exactly one insert through, on both
        // databases, with no transaction held across an await (two SQLite connections in
        // one process would deadlock on the write lock). Having a child IS being rotated;
        // rotated_at follows in the next statement and is only ever set once.
        // The foreign key on family_id settles a race with the end of the session (revoke-all
        // between the caller's read and this insert): PostgreSQL's check waits for the DELETE
        // holding the session row, then refuses; if the insert comes first, the DELETE's cascade
        // takes the child with it. Either way no successor outlives its session.
        try {
          await db.insertInto('gatehouse_refresh_tokens').values(refreshRow({ ...child, parentId })).execute();
        } catch (error) {
          if (isUniqueViolation(error)) return 'taken';
          if (isForeignKeyViolation(error)) return 'ended';
          throw error;
        }
        await db.updateTable('gatehouse_refresh_tokens').set({ rotated_at: now }).where('id', '=', parentId).where('rotated_at', 'is', null).execute();
        return 'rotated';
      }),

    insertRevocation: (r) =>
      guard(async () => {
        await db.transaction().execute((trx) => insertRevocationIn(trx, r));
      }),

    listRevocations: (now) =>
      guard(async () => {
        const rows = await db.selectFrom('gatehouse_revocations').selectAll().where('expires_at', '>', now).execute();
        return rows.map(toRevocation);
      }),

    listRevocationsSince: (since) =>
      guard(async () => {
        const rows = await db.selectFrom('gatehouse_revocations').selectAll().where('at', '>=', since).orderBy('at').execute();
        return rows.map(toRevocation);
      }),

    findUserRevokedAt: (userId, now) =>
      guard(async () => {
        const row = await db
          .selectFrom('gatehouse_revocations')
          .select((eb) => eb.fn.max('at').as('at'))
          .where('subject', '=', userId)
          .where('kind', '=', 'user')
          .where('expires_at', '>', now)
          .executeTakeFirst();
        return row?.at === null || row?.at === undefined ? null : Number(row.at);
      }),

    deleteExpiredRevocations: (now) =>
      guard(async () => {
        const result = await db.deleteFrom('gatehouse_revocations').where('expires_at', '<=', now).executeTakeFirst();
        return Number(result.numDeletedRows);
      }),
  };
}
