import type { AuditLog } from '../audit/audit-log.js';
import type { ResolvedConfig } from '../config/resolve.js';
import { AuthError, ForbiddenError, NotFoundError } from '../errors.js';
import type { ActiveSessionRecord, PasskeyUse, SessionRecord, SessionUserRecord, SessionWithUser, Storage, UserRecord } from '../storage/contract.js';
import { mintSessionToken, parseSessionToken, secretMatches } from './session-token.js';
import type { Session, SessionResult, User } from './types.js';

export interface CreateSessionInput {
  /** How the user proved who they are: "passkey", "oauth", "recovery", ... (stored as amr). */
  method: string;
  ip: string | null;
  userAgent: string | null;
  /** The token the browser presented, if any: that session ends (no fixation, SESS-03). */
  previousToken: string | null;
  /** A passkey sign-in: the counter the assertion moves the passkey to, written in the session's transaction. */
  passkeyUse?: PasskeyUse;
  /**
   * A rotation (SESS-04: a new token after a credential change), not a sign-in: the new session
   * keeps the old one's authentication time, methods and absolute end, so rotating never makes
   * a session fresher or longer-lived.
   */
  carry?: { authTime: number; amr: string[]; absoluteExpiresAt: number };
  /** A rotation: the session it replaces (ended by the caller), for the audit event's `replaced`. */
  replaces?: string;
  /**
   * A recovery-code sign-in: the code (stored under one of these hashes) is burnt, the account's other sessions end and
   * `recovery.code_used` is recorded, all in the new session's transaction. When the code is not
   * an unused code of the account, nothing is written and `RecoveryCodeRejectedError` is thrown.
   */
  recoveryCodeHashes?: string[];
}

/** A recovery sign-in whose code was not (or no longer) an unused code of the account: nothing was written. */
export class RecoveryCodeRejectedError extends AuthError {
  constructor() {
    super('RECOVERY_FAILED', 401, 'That email and recovery code do not match. Check the code and try again.');
  }
}

/**
 * A passkey sign-in lost the race for the passkey's counter: another sign-in with the same
 * passkey moved it first, so this one starts no session (WA-11).
 */
export class PasskeyCounterRaceError extends AuthError {
  constructor() {
    super('PASSKEY_VERIFICATION_FAILED', 401, 'The passkey could not be verified. Try again.');
  }
}

export interface CreatedSession {
  session: SessionRecord;
  /** The account as read when the session was created (not disabled). */
  user: UserRecord;
  token: string;
  /** The sessions a recovery sign-in ended (empty otherwise). */
  endedSessions: string[];
}

export interface Sessions {
  create(userId: string, input: CreateSessionInput): Promise<CreatedSession>;
  /** The session and its user for a presented token, or null. Records activity at most once per touch interval. */
  validate(token: string | null): Promise<SessionWithUser | null>;
}

const CLEANUP_EVERY_MS = 10 * 60 * 1000;

export function toUser(record: SessionUserRecord): User {
  return { id: record.id, email: record.email, name: record.name, role: record.role, disabled: record.disabled };
}

export function toSession(record: ActiveSessionRecord): Session {
  return {
    id: record.id,
    userId: record.userId,
    createdAt: new Date(record.createdAt),
    lastSeenAt: new Date(record.lastSeenAt),
    expiresAt: new Date(record.expiresAt),
    absoluteExpiresAt: new Date(record.absoluteExpiresAt),
    authTime: new Date(record.authTime),
    amr: record.amr,
  };
}

/** Makes a result read-only (it may be shared between requests). */
export function freezeResult(result: SessionResult): SessionResult {
  Object.freeze(result.user);
  Object.freeze(result.session.amr);
  Object.freeze(result.session);
  return Object.freeze(result);
}

export function toSessionResult(found: SessionWithUser): SessionResult {
  return { user: toUser(found.user), session: toSession(found.session) };
}

export function createSessions(storage: () => Promise<Storage>, config: ResolvedConfig, audit: AuditLog): Sessions {
  let lastCleanup = 0;
  let openedStore: Storage | undefined;
  /** Expired rows are deleted when presented, and swept in the background at most every 10 minutes. */
  function sweepExpired(store: Storage, now: number): void {
    if (now - lastCleanup < CLEANUP_EVERY_MS) return;
    lastCleanup = now;
    store.deleteExpiredSessions(now).catch(() => {});
  }

  /** Looks a token up and checks it, without recording activity. */
  async function lookup(store: Storage, token: string | null, now: number): Promise<SessionWithUser | null> {
    if (token === null) return null;
    const parsed = parseSessionToken(token);
    if (parsed === null) return null;
    const found = await store.findSessionWithUser(parsed.id);
    if (found === null) return null;
    // Only a token we minted matches the stored hash: a guessed or planted id is never adopted (SESS-03).
    if (!secretMatches(parsed.secret, found.session.secretHash)) return null;
    if (now >= found.session.expiresAt || now >= found.session.absoluteExpiresAt) {
      await store.deleteSession(found.session.id);
      return null;
    }
    if (found.user.disabled) return null;
    return found;
  }

  return {
    async create(userId, input) {
      const store = await storage();
      const now = config.now();
      const previous = await lookup(store, input.previousToken, now);

      const minted = mintSessionToken();
      const { carry } = input;
      const absoluteExpiresAt = carry?.absoluteExpiresAt ?? now + config.absoluteLifetimeMs;
      const record: SessionRecord = {
        id: minted.id,
        userId,
        secretHash: minted.secretHash,
        createdAt: now,
        lastSeenAt: now,
        expiresAt: Math.min(now + config.idleTimeoutMs, absoluteExpiresAt),
        absoluteExpiresAt,
        authTime: carry?.authTime ?? now,
        amr: carry?.amr ?? [input.method],
        ip: input.ip,
        userAgent: input.userAgent?.slice(0, 512) ?? null,
      };
      const event = audit.entry('session.created', {
        userId,
        sessionId: record.id,
        ip: input.ip,
        userAgent: input.userAgent,
        data: { method: input.method, ...(previous ? { replaced: previous.session.id } : input.replaces !== undefined ? { replaced: input.replaces } : {}) },
      });
      // The user check, the session and its audit event in one transaction: the event is never
      // lost once the session exists, and a disabled account gets nothing written.
      const recovery =
        input.recoveryCodeHashes === undefined
          ? undefined
          : { codeHashes: input.recoveryCodeHashes, event: audit.entry('recovery.code_used', { userId, ip: input.ip, userAgent: input.userAgent, data: {} }) };
      const { user, passkeyUseRecorded, recoveryCodeUsed, endedSessions = [] } = await store.createSessionWithEvent(record, event, input.passkeyUse, recovery);
      // A recovery that did not go through (a wrong or used code, a missing or disabled account): one answer for all (ENUM-01).
      if (recovery !== undefined && recoveryCodeUsed !== true) throw new RecoveryCodeRejectedError();
      if (user === null) throw new NotFoundError('No such user.');
      if (user.disabled) throw new ForbiddenError('This account is disabled.', 'ACCOUNT_DISABLED');
      if (input.passkeyUse !== undefined && !passkeyUseRecorded) throw new PasskeyCounterRaceError();
      if (recovery !== undefined) audit.recorded(recovery.event);
      audit.recorded(event);
      // The browser's previous session ends (no fixation, SESS-03).
      if (previous !== null) await store.deleteSession(previous.session.id);
      sweepExpired(store, now);
      return { session: record, user, token: minted.token, endedSessions };
    },

    async validate(token) {
      // Once opened, the store is used directly: no extra await on the per-request path.
      const store = openedStore ?? (openedStore = await storage());
      const now = config.now();
      sweepExpired(store, now);
      const found = await lookup(store, token, now);
      if (found === null) return null;
      const { session } = found;
      // Sliding expiry, written at most once per touch interval so reads stay reads.
      // Activity never extends past the absolute lifetime (SESS-05/06).
      if (now - session.lastSeenAt >= config.touchIntervalMs) {
        const expiresAt = Math.min(now + config.idleTimeoutMs, session.absoluteExpiresAt);
        const wrote = await store.touchSession(session.id, session.lastSeenAt, { lastSeenAt: now, expiresAt });
        if (wrote) {
          session.lastSeenAt = now;
          session.expiresAt = expiresAt;
        }
      }
      return found;
    },
  };
}
