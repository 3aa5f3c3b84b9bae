import type { Insertable, Selectable, Transaction } from 'kysely';
import { ConflictError } from '../errors.js';
import { prepare, slot, type Prepared } from './prepared.js';
import type { Database } from './database.js';
import type { AuthEventRecord, NewAuthEvent, NewUser, SessionRecord, UserPatch, UserRecord } from './contract.js';
import type { AuthEventsTable, GatehouseTables, SessionsTable, UsersTable } from './schema.js';

/**
 * Row <-> record mapping for users, shared by both halves of the SQL storage. Emails compare in
 * Unicode NFC, case-insensitively: the same address typed with a precomposed "é" or with "e" and
 * a combining accent is one account (migration 0006 rewrote the stored forms).
 */
export function normalizeEmail(email: string): string {
  return email.normalize('NFC').trim().toLowerCase();
}

export function userRow(user: NewUser, webauthnUserId: string | null = null): Insertable<UsersTable> {
  return {
    id: user.id,
    email: user.email.normalize('NFC').trim(),
    email_normalized: normalizeEmail(user.email),
    name: user.name,
    role: user.role,
    disabled: 0,
    created_at: user.now,
    updated_at: user.now,
    webauthn_user_id: webauthnUserId,
  };
}

export function emailTaken(): ConflictError {
  return new ConflictError('EMAIL_TAKEN', 'An account with this email already exists.');
}

export function toUser(row: Selectable<UsersTable>): UserRecord {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    role: row.role,
    disabled: row.disabled === 1,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export function splitAmr(amr: string): string[] {
  return amr === '' ? [] : amr.split(' ');
}


/** Every column of an audit event row, nullable ones included (prepared statements bind each by name). */
export type EventValues = Required<Omit<Insertable<AuthEventsTable>, 'id'>>;

export function eventValues(e: NewAuthEvent): EventValues {
  return {
    type: e.type,
    user_id: e.userId,
    actor_id: e.actorId,
    session_id: e.sessionId,
    ip: e.ip,
    user_agent: e.userAgent,
    data: e.data === null ? null : JSON.stringify(e.data),
    created_at: e.createdAt,
  };
}

/** Writes audit events inside the transaction of the change they record. */
export async function insertEventsIn(trx: Transaction<GatehouseTables>, events: readonly NewAuthEvent[] = []): Promise<void> {
  for (const event of events) await trx.insertInto('gatehouse_auth_events').values(eventValues(event)).execute();
}

/** An audit event's columns as prepared-statement slots (see prepared.ts). */
export const eventSlots = {
  type: slot<string>('type'),
  user_id: slot<string | null>('user_id'),
  actor_id: slot<string | null>('actor_id'),
  session_id: slot<string | null>('session_id'),
  ip: slot<string | null>('ip'),
  user_agent: slot<string | null>('user_agent'),
  data: slot<string | null>('data'),
  created_at: slot<number>('created_at'),
};

export function toSession(row: Selectable<SessionsTable>): SessionRecord {
  return {
    id: row.id,
    userId: row.user_id,
    secretHash: row.secret_hash,
    createdAt: row.created_at,
    lastSeenAt: row.last_seen_at,
    expiresAt: row.expires_at,
    absoluteExpiresAt: row.absolute_expires_at,
    authTime: row.auth_time,
    amr: splitAmr(row.amr),
    ip: row.ip,
    userAgent: row.user_agent,
  };
}

export function toEvent(row: Selectable<AuthEventsTable>): AuthEventRecord {
  let data: Record<string, unknown> | null = null;
  if (row.data !== null) {
    const parsed: unknown = JSON.parse(row.data);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) data = parsed as Record<string, unknown>;
  }
  return {
    id: Number(row.id),
    type: row.type,
    userId: row.user_id,
    actorId: row.actor_id,
    sessionId: row.session_id,
    ip: row.ip,
    userAgent: row.user_agent,
    data,
    createdAt: row.created_at,
  };
}

// Every column named, nullable ones included (Insertable makes those optional): the prepared
// statements bind each slot by name.
export type SessionValues = Required<Insertable<SessionsTable>>;

export const userSlots = {
  id: slot<string>('id'),
  email: slot<string>('email'),
  email_normalized: slot<string>('email_normalized'),
  name: slot<string>('name'),
  role: slot<string>('role'),
  disabled: slot<number>('disabled'),
  created_at: slot<number>('created_at'),
  updated_at: slot<number>('updated_at'),
  webauthn_user_id: slot<string | null>('webauthn_user_id'),
};

export const sessionSlots = {
  id: slot<string>('id'),
  user_id: slot<string>('user_id'),
  secret_hash: slot<string>('secret_hash'),
  created_at: slot<number>('created_at'),
  last_seen_at: slot<number>('last_seen_at'),
  expires_at: slot<number>('expires_at'),
  absolute_expires_at: slot<number>('absolute_expires_at'),
  auth_time: slot<number>('auth_time'),
  amr: slot<string>('amr'),
  ip: slot<string | null>('ip'),
  user_agent: slot<string | null>('user_agent'),
};

export function sessionValues(s: SessionRecord): SessionValues {
  return {
    id: s.id,
    user_id: s.userId,
    secret_hash: s.secretHash,
    created_at: s.createdAt,
    last_seen_at: s.lastSeenAt,
    expires_at: s.expiresAt,
    absolute_expires_at: s.absoluteExpiresAt,
    auth_time: s.authTime,
    amr: s.amr.join(' '),
    ip: s.ip,
    user_agent: s.userAgent,
  };
}

/** The columns an administrative change writes, and `updated_at`. */
export function userPatchValues(patch: UserPatch, now: number): Partial<UsersTable> {
  const values: Partial<UsersTable> = { updated_at: now };
  if (patch.role !== undefined) values.role = patch.role;
  if (patch.disabled !== undefined) values.disabled = patch.disabled ? 1 : 0;
  if (patch.name !== undefined) values.name = patch.name;
  return values;
}

/** The prepared insert of one audit event, for the synchronous (SQLite) transactions. */
export function prepareEventInsert(database: Database): Prepared<EventValues> {
  return prepare<EventValues>(database, database.kysely.insertInto('gatehouse_auth_events').values(eventSlots));
}
