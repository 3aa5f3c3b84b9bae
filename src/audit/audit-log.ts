import type { GatehouseLogger } from '../config/options.js';
import type { NewAuthEvent, Storage } from '../storage/contract.js';

/** Every auth event type Gatehouse records. The log is append-only (enforced by database triggers). */
export type AuthEventType =
  | 'user.created'
  | 'session.created'
  | 'session.signed_out'
  | 'session.revoked'
  | 'user.role_changed'
  | 'user.disabled'
  | 'user.enabled'
  | 'user.profile_updated'
  | 'rate_limited'
  | 'csrf.refused'
  | 'passkey.registered'
  | 'passkey.renamed'
  | 'passkey.deleted'
  | 'passkey.verification_failed'
  | 'recovery.codes_generated'
  | 'recovery.code_used'
  | 'recovery.failed'
  | 'oauth.signed_in'
  | 'oauth.linked'
  | 'oauth.unlinked'
  | 'oauth.failed'
  | 'refresh_token.reused'
  | 'signing_key.rotated';

export const AUTH_EVENT_TYPES: readonly AuthEventType[] = [
  'user.created',
  'session.created',
  'session.signed_out',
  'session.revoked',
  'user.role_changed',
  'user.disabled',
  'user.enabled',
  'user.profile_updated',
  'rate_limited',
  'csrf.refused',
  'passkey.registered',
  'passkey.renamed',
  'passkey.deleted',
  'passkey.verification_failed',
  'recovery.codes_generated',
  'recovery.code_used',
  'recovery.failed',
  'oauth.signed_in',
  'oauth.linked',
  'oauth.unlinked',
  'oauth.failed',
  'refresh_token.reused',
  'signing_key.rotated',
];

export interface AuthEventInput {
  userId?: string | null;
  /** Who did it, when not the user themself (an admin); null for the CLI or the system. */
  actorId?: string | null;
  sessionId?: string | null;
  ip?: string | null;
  userAgent?: string | null;
  data?: Record<string, unknown> | null;
}

/** An event as stored, built by `AuditLog.entry`. */
export type AuditEntry = NewAuthEvent & { type: AuthEventType };

export interface AuditLog {
  /** Writes the event; a failure propagates, so a security action is never left unrecorded. */
  record(type: AuthEventType, input: AuthEventInput): Promise<void>;
  /** For high-volume events (429s, CSRF refusals): never blocks or fails the request. */
  recordInBackground(type: AuthEventType, input: AuthEventInput): void;
  /**
   * The event as `record` would write it, for a storage call that writes it in the same
   * transaction as the change it records (a new session and its `session.created`). Call
   * `recorded` once that transaction committed.
   */
  entry(type: AuthEventType, input: AuthEventInput): AuditEntry;
  /** Tells the observer (metrics) about an event written through `entry`. */
  recorded(event: AuditEntry): void;
}

const MAX_USER_AGENT = 512;

/** Sees every event as it is recorded (metrics count sign-ins from here). */
export type AuditObserver = (type: AuthEventType, data: Record<string, unknown> | null) => void;

export function createAuditLog(storage: () => Promise<Storage>, now: () => number, logger: GatehouseLogger, observe?: AuditObserver): AuditLog {
  function entry(type: AuthEventType, input: AuthEventInput): AuditEntry {
    return {
      type,
      userId: input.userId ?? null,
      actorId: input.actorId ?? null,
      sessionId: input.sessionId ?? null,
      ip: input.ip ?? null,
      userAgent: input.userAgent?.slice(0, MAX_USER_AGENT) ?? null,
      data: input.data ?? null,
      createdAt: now(),
    };
  }
  async function record(type: AuthEventType, input: AuthEventInput): Promise<void> {
    observe?.(type, input.data ?? null);
    const event = entry(type, input);
    const store = await storage();
    await store.appendEvent(event);
  }
  return {
    record,
    entry,
    recorded(event) {
      observe?.(event.type, event.data);
    },
    recordInBackground(type, input) {
      record(type, input).catch((error: unknown) => {
        logger.warn('could not record auth event', { type, error: error instanceof Error ? error.message : String(error) });
      });
    },
  };
}
