import type { AuditLog } from '../audit/audit-log.js';
import type { ResolvedConfig } from '../config/resolve.js';
import { UnauthenticatedError } from '../errors.js';
import { sha256Matches } from '../lib/crypto.js';
import type { MetricsRecorder } from '../ops/metrics.js';
import type { ActiveSessionRecord, SessionUserRecord, Storage } from '../storage/contract.js';
import { parseRefreshToken, successorOf } from './refresh-token.js';

export interface RotateRefreshTokenSetup {
  config: ResolvedConfig;
  storage: () => Promise<Storage>;
  audit: AuditLog;
  /** The key successors are derived with (successorKey(jwt.secret)). */
  successors: Buffer;
  refreshGraceMs: number;
  /** Counts each refresh's outcome (`gatehouse_refresh_total{result}`). */
  metrics: MetricsRecorder;
}

/**
 * How a refresh ended, for the metric: a new successor, the same successor again inside the
 * grace window, a reused token (family ended), a token past its family's or session's end, the
 * session ended (deleted meanwhile, or its user disabled), or no valid token at all.
 */
export type RefreshOutcome = 'rotated' | 'grace' | 'reused' | 'expired' | 'ended' | 'invalid';

export interface RotatedRefreshToken {
  /** The successor to hand out (the same one to every caller inside the grace window). */
  token: string;
  session: ActiveSessionRecord;
  user: SessionUserRecord;
  /** When the session and user were read (ms): an account change at or after it is read again before signing. */
  readAt: number;
}

export interface RequestMeta {
  ip: string | null;
  userAgent: string | null;
}

export const signedOut = (): UnauthenticatedError => new UnauthenticatedError('Your session has ended. Sign in again.');

/**
 * One refresh: checks the presented token, its family and the account, and rotates it
 * (RT-02..06). Throws UnauthenticatedError whenever the answer is "sign in again".
 */
export async function rotateRefreshToken(setup: RotateRefreshTokenSetup, presented: string | null, meta: RequestMeta): Promise<RotatedRefreshToken> {
  const { config } = setup;
  const refused = (outcome: RefreshOutcome): UnauthenticatedError => {
    setup.metrics.count('refresh_total', { result: outcome });
    return signedOut();
  };
  const parsed = parseRefreshToken(presented);
  if (parsed === null) throw refused('invalid');
  const store = await setup.storage();
  const at = config.now();
  const row = await store.findRefreshToken(parsed.id);
  // Constant-time comparison of the hashes (TIME-01); a wrong secret revokes nothing.
  if (row === null || !sha256Matches(parsed.secret, row.secretHash)) throw refused('invalid');
  // RT-05: the family's end is fixed at sign-in and copied to every successor.
  if (at >= row.expiresAt) throw refused('expired');
  const found = await store.findSessionWithUser(row.familyId);
  if (found === null || found.user.id !== row.userId) throw refused('ended');
  if (at >= found.session.absoluteExpiresAt || at >= found.session.expiresAt) throw refused('expired');
  // RT-06: the account is read now; a disabled user gets nothing.
  if (found.user.disabled) throw refused('ended');

  const child = successorOf(setup.successors, row.id);
  const rotation =
    row.rotatedAt === null
      ? await store.rotateRefreshToken(
          row.id,
          { id: child.id, familyId: row.familyId, parentId: row.id, userId: row.userId, secretHash: child.secretHash, createdAt: at, expiresAt: row.expiresAt, rotatedAt: null },
          at,
        )
      : 'taken';
  // The session ended after it was read above (a revoke-all racing this refresh): signed out, like a refresh that came later.
  if (rotation === 'ended') throw refused('ended');
  if (rotation === 'taken') {
    // Rotated already. Inside the grace window every caller gets the same successor, as
    // long as that successor is still the live token (RT-04).
    const successor = await store.findRefreshToken(child.id);
    const rotatedAt = row.rotatedAt ?? successor?.createdAt ?? null;
    if (successor === null || rotatedAt === null || at - rotatedAt > setup.refreshGraceMs || successor.rotatedAt !== null) {
      // RFC 9700 4.14.2: a rotated token came back: someone holds a copy. End the whole family (RT-03).
      setup.metrics.count('refresh_total', { result: 'reused' });
      await store.deleteSession(row.familyId);
      await setup.audit.record('refresh_token.reused', {
        userId: row.userId,
        sessionId: row.familyId,
        ip: meta.ip,
        userAgent: meta.userAgent,
        data: { tokenId: row.id, rotatedAt },
      });
      throw new UnauthenticatedError('This sign-in was ended for your safety. Sign in again.');
    }
  }
  setup.metrics.count('refresh_total', { result: rotation === 'rotated' ? 'rotated' : 'grace' });
  const session = found.session;
  // Activity slides the idle expiry, never past the absolute end.
  if (at - session.lastSeenAt >= config.touchIntervalMs) {
    const expiresAt = Math.min(at + config.idleTimeoutMs, session.absoluteExpiresAt);
    if (await store.touchSession(session.id, session.lastSeenAt, { lastSeenAt: at, expiresAt })) {
      session.lastSeenAt = at;
      session.expiresAt = expiresAt;
    }
  }
  // `at` was taken before the session and user were read: a change after it makes mint read again.
  return { token: child.token, session, user: found.user, readAt: at };
}
