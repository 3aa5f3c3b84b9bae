import type { Insertable, Selectable } from 'kysely';
import { prepare, slot } from './prepared.js';
import { guard, isUniqueViolation, unavailable } from './sql-errors.js';
import {
  emailTaken,
  eventValues,
  normalizeEmail,
  prepareEventInsert,
  sessionSlots,
  splitAmr,
  sessionValues,
  toEvent,
  toSession,
  toUser,
  userPatchValues,
  userRow,
  userSlots,
  type EventValues,
  type SessionValues,
} from './sql-rows.js';
import { createSqlOAuthStorage } from './sql-oauth-storage.js';
import { createSqlPasskeyStorage } from './sql-passkey-storage.js';
import { createSqlJwtStorage } from './sql-jwt-storage.js';
import type { Database } from './database.js';
import type { UsersTable } from './schema.js';
import type { JwtStorage, NewAuthEvent, UserRecord, OAuthStorage, PasskeyStorage, PasskeyUse, RecoveryUse, SessionRecord, SessionStart, SessionWithUser, Storage } from './contract.js';
import { countOwned, lockUser } from './sql-credentials.js';
import { insertRevocationIn } from './sql-jwt-storage.js';
import { sql } from 'kysely';

function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (c) => `\\${c}`);
}

// Every column named, nullable ones included (Insertable makes those optional): the prepared
// statements bind each slot by name.
type PrefixedEventValues = { [K in keyof EventValues as `e_${K}`]: EventValues[K] };
interface PasskeyUseValues extends Record<string, unknown> {
  p_id: string;
  p_previous_counter: number;
  p_counter: number;
  p_backed_up: number;
  p_last_used_at: number;
}

function passkeyUseValues(use: PasskeyUse): PasskeyUseValues {
  return { p_id: use.id, p_previous_counter: use.previousCounter, p_counter: use.counter, p_backed_up: use.backedUp ? 1 : 0, p_last_used_at: use.lastUsedAt };
}

/** Thrown inside a recovery sign-in's transaction to roll the burnt code back. */
class RecoveryRefused extends Error {
  constructor(readonly user: UserRecord | null) {
    super('recovery refused');
  }
}

/** The storage contract on Kysely, for SQLite (better-sqlite3) and PostgreSQL (pg). */
export function createSqlStorage(database: Database): Storage {
  return { ...createSqlCoreStorage(database), ...createSqlPasskeyStorage(database), ...createSqlOAuthStorage(database), ...createSqlJwtStorage(database) };
}

function createSqlCoreStorage(database: Database): Omit<Storage, keyof PasskeyStorage | keyof OAuthStorage | keyof JwtStorage> {
  const db = database.kysely;

  // The one query every authenticated request runs: a session joined with its user's
  // current role and disabled flag. Compiled once by Kysely, then a prepared statement.
  const findSessionQuery = db
    .selectFrom('gatehouse_sessions as s')
    .innerJoin('gatehouse_users as u', 'u.id', 's.user_id')
    .select([
      's.user_id',
      's.secret_hash',
      's.created_at',
      's.last_seen_at',
      's.expires_at',
      's.absolute_expires_at',
      's.auth_time',
      's.amr',
      'u.email as u_email',
      'u.name as u_name',
      'u.role as u_role',
      'u.disabled as u_disabled',
    ])
    .where('s.id', '=', '');
  const findSession = database.prepareFirst(findSessionQuery.compile());

  // Every sign-in reads the user, writes the session and an audit event: prepared once too.
  const findUser = prepare<{ id: string }>(database, db.selectFrom('gatehouse_users').selectAll().where('id', '=', slot<string>('id')));
  const insertUserRow = prepare<Required<Insertable<UsersTable>>>(database, db.insertInto('gatehouse_users').values(userSlots).returningAll());
  const insertSessionRow = prepare<SessionValues>(database, db.insertInto('gatehouse_sessions').values(sessionSlots));
  const insertEventRow = prepareEventInsert(database);
  // A passkey sign-in also moves the passkey's counter, in the same transaction (WA-11).
  const recordUse = prepare<PasskeyUseValues>(
    database,
    db
      .updateTable('gatehouse_passkeys')
      .set({ counter: slot<number>('p_counter'), backed_up: slot<number>('p_backed_up'), last_used_at: slot<number>('p_last_used_at') })
      .where('id', '=', slot<string>('p_id'))
      .where('counter', '=', slot<number>('p_previous_counter')),
  );
  // PostgreSQL: the writes in ONE statement (data-modifying CTEs commit together); the user row
  // is read FOR SHARE, so a disable committing meanwhile is either seen or waits for this one.
  // With a passkey, its counter update is one more CTE, and the session is written only if it
  // matched: of two racing assertions, the second waits for the first's row lock and then
  // finds the counter moved.
  const startSessionPg = (withPasskey: boolean) =>
    prepare<SessionValues & PrefixedEventValues & Partial<PasskeyUseValues>>(database, {
      compile: () => {
        const passkey = withPasskey
          ? sql`p as (
              update gatehouse_passkeys set counter = cast(${slot<number>('p_counter')} as bigint), backed_up = cast(${slot<number>('p_backed_up')} as integer),
                last_used_at = cast(${slot<number>('p_last_used_at')} as bigint)
              where id = cast(${slot<string>('p_id')} as text) and counter = cast(${slot<number>('p_previous_counter')} as bigint)
                and exists (select 1 from u where u.disabled = 0)
              returning id
            ),`
          : sql``;
        return sql`with u as (select * from gatehouse_users where id = ${slot<string>('user_id')} for share),
              ${passkey}
              s as (
                insert into gatehouse_sessions (id, user_id, secret_hash, created_at, last_seen_at, expires_at, absolute_expires_at, auth_time, amr, ip, user_agent)
                select cast(${slot<string>('id')} as text), u.id, cast(${slot<string>('secret_hash')} as text), cast(${slot<number>('created_at')} as bigint),
                  cast(${slot<number>('last_seen_at')} as bigint), cast(${slot<number>('expires_at')} as bigint), cast(${slot<number>('absolute_expires_at')} as bigint),
                  cast(${slot<number>('auth_time')} as bigint), cast(${slot<string>('amr')} as text), cast(${slot<string | null>('ip')} as text), cast(${slot<string | null>('user_agent')} as text)
                from u where u.disabled = 0 ${withPasskey ? sql`and exists (select 1 from p)` : sql``}
                returning id
              ),
              e as (
                insert into gatehouse_auth_events (type, user_id, actor_id, session_id, ip, user_agent, data, created_at)
                select cast(${slot<string>('e_type')} as text), cast(${slot<string | null>('e_user_id')} as text), cast(${slot<string | null>('e_actor_id')} as text),
                  cast(${slot<string | null>('e_session_id')} as text), cast(${slot<string | null>('e_ip')} as text), cast(${slot<string | null>('e_user_agent')} as text),
                  cast(${slot<string | null>('e_data')} as text), cast(${slot<number>('e_created_at')} as bigint)
                from s
              )
              select u.*, ${withPasskey ? sql`(select count(*) from p)` : sql`0`} as passkey_updated from u`.compile(db);
      },
    });
  /**
   * A recovery sign-in (rare, so Kysely's transaction rather than the prepared fast path): the
   * user's row locked first (on SQLite that takes the write lock before any read), then the code
   * burnt, the other sessions ended, and the code's event, the session and its event written.
   */
  const startRecoverySession = (s: SessionRecord, e: NewAuthEvent, recovery: RecoveryUse): Promise<SessionStart> =>
    db
      .transaction()
      .execute(async (trx) => {
        // The code first: a wrong code costs the same statements whether or not the account
        // exists (the route runs this for unknown emails too, with an id no account has, ENUM-01).
        await lockUser(trx, s.userId);
        const burnt = await trx
          .updateTable('gatehouse_recovery_codes')
          .set({ used_at: s.createdAt })
          .where('user_id', '=', s.userId)
          .where('code_hash', 'in', recovery.codeHashes)
          .where('used_at', 'is', null)
          .executeTakeFirst();
        if (Number(burnt.numUpdatedRows) === 0) return { user: null, passkeyUseRecorded: false, recoveryCodeUsed: false };
        const row = await trx.selectFrom('gatehouse_users').selectAll().where('id', '=', s.userId).executeTakeFirst();
        const user = row === undefined ? null : toUser(row);
        // A disabled account: the burnt code comes back with the rollback.
        if (user === null || user.disabled) throw new RecoveryRefused(user);
        const endedSessions = (await trx.deleteFrom('gatehouse_sessions').where('user_id', '=', user.id).returning('id').execute()).map((r) => r.id);
      const codesLeft = await countOwned(trx, 'gatehouse_recovery_codes', user.id);
      const used = { ...recovery.event, data: { ...recovery.event.data, sessionsEnded: endedSessions.length, codesLeft } };
      await trx.insertInto('gatehouse_auth_events').values(eventValues(used)).execute();
      for (const revocation of recovery.revocations?.(endedSessions) ?? []) await insertRevocationIn(trx, revocation);
      await trx.insertInto('gatehouse_sessions').values(sessionValues(s)).execute();
      await trx.insertInto('gatehouse_auth_events').values(eventValues(e)).execute();
      return { user, passkeyUseRecorded: false, recoveryCodeUsed: true, endedSessions };
      })
      .catch((error: unknown) => {
        if (error instanceof RecoveryRefused) return { user: error.user, passkeyUseRecorded: false, recoveryCodeUsed: false };
        throw error;
      });
  const startSessionPgPlain = database.dialect === 'postgres' ? startSessionPg(false) : undefined;
  const startSessionPgPasskey = database.dialect === 'postgres' ? startSessionPg(true) : undefined;

  return {
    createUser: (user, event) =>
      guard(async () => {
        try {
          if (event === undefined) return toUser(await db.insertInto('gatehouse_users').values(userRow(user)).returningAll().executeTakeFirstOrThrow());
          const { atomically } = database;
          if (atomically !== undefined) {
            // SQLite: one synchronous transaction, never holding the write lock across an await
            // (another connection of the same process waiting for it would block the thread).
            const row = await atomically(() => {
              const inserted = insertUserRow.getNow(userRow(user) as Required<Insertable<UsersTable>>);
              insertEventRow.runNow(eventValues(event));
              return inserted;
            });
            return toUser(row as unknown as Selectable<UsersTable>);
          }
          return await db.transaction().execute(async (trx) => {
            const row = await trx.insertInto('gatehouse_users').values(userRow(user)).returningAll().executeTakeFirstOrThrow();
            await trx.insertInto('gatehouse_auth_events').values(eventValues(event)).execute();
            return toUser(row);
          });
        } catch (error) {
          if (isUniqueViolation(error)) throw emailTaken();
          throw error;
        }
      }),

    changeUser: (change) =>
      guard(() =>
        db.transaction().execute(async (trx) => {
          // Both rows locked, in one order (two admins changing each other at once cannot
          // deadlock), then read again: the decision sees what is true now.
          const ids = [...new Set(change.actorId === null ? [change.userId] : [change.userId, change.actorId])].sort();
          for (const id of ids) await lockUser(trx, id);
          const rows = (await trx.selectFrom('gatehouse_users').selectAll().where('id', 'in', ids).execute()).map(toUser);
          const target = rows.find((r) => r.id === change.userId) ?? null;
          const actor = change.actorId === null ? null : (rows.find((r) => r.id === change.actorId) ?? null);
          const plan = change.decide(target, actor);
          if (target === null || plan === null) {
            if (target === null) throw new Error('changeUser: decide() accepted a user that does not exist');
            return { user: target, changed: false, endedSessions: [] };
          }
          const row = await trx.updateTable('gatehouse_users').set(userPatchValues(plan.patch, change.now)).where('id', '=', target.id).returningAll().executeTakeFirstOrThrow();
          const endedSessions = plan.endSessions ? (await trx.deleteFrom('gatehouse_sessions').where('user_id', '=', target.id).returning('id').execute()).map((r) => r.id) : [];
          for (const event of plan.events(endedSessions.length)) await trx.insertInto('gatehouse_auth_events').values(eventValues(event)).execute();
          for (const revocation of change.revocations?.({ patch: plan.patch, endedSessions }) ?? []) await insertRevocationIn(trx, revocation);
          return { user: toUser(row), changed: true, endedSessions };
        }),
      ),

    findUserById: (id) =>
      guard(async () => {
        const row = await findUser.get({ id });
        return row ? toUser(row as unknown as Selectable<UsersTable>) : null;
      }),

    findUserByEmail: (email) =>
      guard(async () => {
        const row = await db
          .selectFrom('gatehouse_users')
          .selectAll()
          .where('email_normalized', '=', normalizeEmail(email))
          .executeTakeFirst();
        return row ? toUser(row) : null;
      }),

    listUsers: (query) =>
      guard(async () => {
        let q = db.selectFrom('gatehouse_users').selectAll().orderBy('id').limit(query.limit);
        if (query.after !== undefined) q = q.where('id', '>', query.after);
        if (query.search !== undefined && query.search !== '') {
          const pattern = `%${escapeLike(query.search.normalize('NFC').toLowerCase())}%`;
          q = q.where((eb) =>
            eb.or([
              eb('email_normalized', 'like', sql<string>`${pattern} escape '\\'`),
              eb(eb.fn(database.dialect === 'sqlite' ? 'gatehouse_lower' : 'lower', ['name']), 'like', sql<string>`${pattern} escape '\\'`),
            ]),
          );
        }
        return (await q.execute()).map(toUser);
      }),

    updateUser: (id, patch, now) =>
      guard(async () => {
        const row = await db.updateTable('gatehouse_users').set(userPatchValues(patch, now)).where('id', '=', id).returningAll().executeTakeFirst();
        return row ? toUser(row) : null;
      }),

    insertSession: (s) =>
      guard(async () => {
        await insertSessionRow.run(sessionValues(s));
      }),

    createSessionWithEvent: (s, e, passkeyUse, recovery) =>
      guard(async () => {
        if (recovery !== undefined) {
          if (passkeyUse !== undefined) throw new Error('createSessionWithEvent: a passkey use and a recovery code in one sign-in');
          return startRecoverySession(s, e, recovery);
        }
        const use = passkeyUse === undefined ? undefined : passkeyUseValues(passkeyUse);
        if (startSessionPgPlain !== undefined && startSessionPgPasskey !== undefined) {
          const event = eventValues(e);
          const row = await (use === undefined ? startSessionPgPlain : startSessionPgPasskey).get({
            ...sessionValues(s),
            e_type: event.type,
            e_user_id: event.user_id,
            e_actor_id: event.actor_id,
            e_session_id: event.session_id,
            e_ip: event.ip,
            e_user_agent: event.user_agent,
            e_data: event.data,
            e_created_at: event.created_at,
            ...use,
          });
          if (row === undefined) return { user: null, passkeyUseRecorded: false };
          return { user: toUser(row as unknown as Selectable<UsersTable>), passkeyUseRecorded: Number(row.passkey_updated) > 0 };
        }
        const { atomically } = database;
        if (atomically === undefined) throw new Error('createSessionWithEvent: no transaction support');
        // SQLite: one synchronous BEGIN IMMEDIATE transaction; nothing else runs on the connection meanwhile.
        return atomically(() => {
          const row = findUser.getNow({ id: s.userId });
          if (row === undefined) return { user: null, passkeyUseRecorded: false };
          const user = toUser(row as unknown as Selectable<UsersTable>);
          if (user.disabled) return { user, passkeyUseRecorded: false };
          // The counter moves first: when it lost a race, nothing has been written yet.
          if (use !== undefined && recordUse.runNow(use) === 0) return { user, passkeyUseRecorded: false };
          insertSessionRow.runNow(sessionValues(s));
          insertEventRow.runNow(eventValues(e));
          return { user, passkeyUseRecorded: use !== undefined };
        });
      }),

    // Not wrapped in guard(): on the hot path one promise chain, errors mapped the same way.
    findSessionWithUser: (id) =>
      findSession([id]).then((row) => {
        if (row === undefined) return null;
        // Positions follow the select list above; the conformance suite pins every field.
        const [userId, secretHash, createdAt, lastSeenAt, expiresAt, absoluteExpiresAt, authTime, amr, email, name, role, disabled] = row;
        const result: SessionWithUser = {
          session: {
            id,
            userId: String(userId),
            secretHash: String(secretHash),
            createdAt: Number(createdAt),
            lastSeenAt: Number(lastSeenAt),
            expiresAt: Number(expiresAt),
            absoluteExpiresAt: Number(absoluteExpiresAt),
            authTime: Number(authTime),
            amr: splitAmr(String(amr)),
          },
          user: { id: String(userId), email: String(email), name: String(name), role: String(role), disabled: Number(disabled) === 1 },
        };
        return result;
      }, unavailable),

    touchSession: (id, previousLastSeenAt, update) =>
      guard(async () => {
        const result = await db
          .updateTable('gatehouse_sessions')
          .set({ last_seen_at: update.lastSeenAt, expires_at: update.expiresAt })
          .where('id', '=', id)
          .where('last_seen_at', '=', previousLastSeenAt)
          .executeTakeFirst();
        return Number(result.numUpdatedRows) === 1;
      }),

    deleteSession: (id, userId) =>
      guard(async () => {
        let q = db.deleteFrom('gatehouse_sessions').where('id', '=', id);
        if (userId !== undefined) q = q.where('user_id', '=', userId);
        const result = await q.executeTakeFirst();
        return Number(result.numDeletedRows) === 1;
      }),

    deleteUserSessions: (userId, exceptId) =>
      guard(async () => {
        let q = db.deleteFrom('gatehouse_sessions').where('user_id', '=', userId);
        if (exceptId !== undefined) q = q.where('id', '!=', exceptId);
        const rows = await q.returning('id').execute();
        return rows.map((r) => r.id);
      }),

    listUserSessions: (userId) =>
      guard(async () => {
        const rows = await db
          .selectFrom('gatehouse_sessions')
          .selectAll()
          .where('user_id', '=', userId)
          .orderBy('last_seen_at', 'desc')
          .execute();
        return rows.map(toSession);
      }),

    deleteExpiredSessions: (now) =>
      guard(async () => {
        const result = await db
          .deleteFrom('gatehouse_sessions')
          .where((eb) => eb.or([eb('expires_at', '<=', now), eb('absolute_expires_at', '<=', now)]))
          .executeTakeFirst();
        return Number(result.numDeletedRows);
      }),

    appendEvent: (e) =>
      guard(async () => {
        await insertEventRow.run(eventValues(e));
      }),

    listEvents: (query) =>
      guard(async () => {
        let q = db.selectFrom('gatehouse_auth_events').selectAll().orderBy('id', 'desc').limit(query.limit);
        if (query.before !== undefined) q = q.where('id', '<', query.before);
        if (query.userId !== undefined) q = q.where('user_id', '=', query.userId);
        if (query.type !== undefined) q = q.where('type', '=', query.type);
        return (await q.execute()).map(toEvent);
      }),

    ping: () =>
      guard(async () => {
        await sql`select 1`.execute(db);
      }),
  };
}
