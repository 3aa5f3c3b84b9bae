import type { Insertable, Selectable, Transaction } from 'kysely';
import { ConflictError } from '../errors.js';
import { slot } from './prepared.js';
import type { NewAuthEvent, NewUser, UserRecord } from './contract.js';
import type { AuthEventsTable, GatehouseTables, UsersTable } from './schema.js';

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
