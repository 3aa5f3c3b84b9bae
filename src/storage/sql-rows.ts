import type { Insertable, Selectable } from 'kysely';
import { ConflictError } from '../errors.js';
import type { NewUser, UserRecord } from './contract.js';
import type { UsersTable } from './schema.js';

/** Row <-> record mapping for users, shared by both halves of the SQL storage. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

export function userRow(user: NewUser, webauthnUserId: string | null = null): Insertable<UsersTable> {
  return {
    id: user.id,
    email: user.email.trim(),
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

