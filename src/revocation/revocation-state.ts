import type { RevocationRecord } from '../storage/contract.js';

/**
 * What each instance keeps in memory so an access token is checked against revocations
 * without a database query: revoked session ids, and per user the moment before which
 * their tokens no longer count ("not before"). Entries leave once every token they could
 * refuse has expired, so the maps stay as small as the last ~15 minutes of revocations.
 */
export type RevocationVerdict = 'ok' | 'revoked' | 'stale';

export class RevocationState {
  private sessions = new Map<string, number>();
  private users = new Map<string, { at: number; expiresAt: number }>();

  apply(record: RevocationRecord): void {
    if (record.kind === 'session') {
      this.sessions.set(record.subject, Math.max(record.expiresAt, this.sessions.get(record.subject) ?? 0));
      return;
    }
    const known = this.users.get(record.subject);
    if (known === undefined || known.at < record.at) this.users.set(record.subject, { at: record.at, expiresAt: Math.max(record.expiresAt, known?.expiresAt ?? 0) });
  }

  /** Replaces everything with what the database holds (after a (re)connect of the feed). */
  replace(records: readonly RevocationRecord[], now: number): void {
    const previous = { sessions: this.sessions, users: this.users };
    this.sessions = new Map();
    this.users = new Map();
    for (const record of records) this.apply(record);
    // Entries applied locally but not yet visible in the snapshot are kept too: never lose a revocation.
    for (const [id, expiresAt] of previous.sessions) if (expiresAt > now && !this.sessions.has(id)) this.sessions.set(id, expiresAt);
    for (const [id, entry] of previous.users) if (entry.expiresAt > now) this.apply({ id: '', kind: 'user', subject: id, ...entry });
  }

  /** The "not before" of a user (ms), or 0. */
  userNotBefore(userId: string): number {
    return this.users.get(userId)?.at ?? 0;
  }

  /** `issuedAtMs`: the token's issue time in milliseconds. */
  check(sessionId: string, userId: string, issuedAtMs: number): RevocationVerdict {
    if (this.sessions.has(sessionId)) return 'revoked';
    const user = this.users.get(userId);
    // Issued at or before the change: stale (a token minted after it is stamped at least 1 ms later).
    if (user !== undefined && issuedAtMs <= user.at) return 'stale';
    return 'ok';
  }

  prune(now: number): void {
    for (const [id, expiresAt] of this.sessions) if (expiresAt <= now) this.sessions.delete(id);
    for (const [id, entry] of this.users) if (entry.expiresAt <= now) this.users.delete(id);
  }

  get size(): number {
    return this.sessions.size + this.users.size;
  }
}
