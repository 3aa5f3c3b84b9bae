import type { SessionWithUser } from '../storage/contract.js';

/** A validated session as the cache keeps it, and when it was read from the database. */
export interface CachedSession {
  found: SessionWithUser;
  /** When the row was read (ms): a user change at or after this moment makes the entry stale. */
  loadedAt: number;
}

/**
 * The in-process cache of validated database sessions (docs/sessions.md, "Session cache").
 * Keyed by the SHA-256 of the presented token, never the token. Bounded: the least recently
 * used entry leaves first. Indexed by session id and by user id so a revocation drops every
 * entry it concerns at once. Whether an entry may be trusted (feed healthy, not revoked, not
 * expired, not too old) is decided by the caller on every hit.
 */
export class SessionCache {
  private readonly entries = new Map<string, CachedSession>();
  private readonly bySession = new Map<string, string>();
  private readonly byUser = new Map<string, Set<string>>();

  constructor(private readonly maxEntries: number) {}

  get size(): number {
    return this.entries.size;
  }

  get(key: string): CachedSession | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    // Map order is insertion order: re-inserting marks the entry most recently used.
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry;
  }

  set(key: string, entry: CachedSession): void {
    this.delete(key);
    while (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) break;
      this.delete(oldest.value);
    }
    this.entries.set(key, entry);
    this.bySession.set(entry.found.session.id, key);
    const keys = this.byUser.get(entry.found.user.id) ?? new Set<string>();
    keys.add(key);
    this.byUser.set(entry.found.user.id, keys);
  }

  delete(key: string): boolean {
    const entry = this.entries.get(key);
    if (entry === undefined) return false;
    this.entries.delete(key);
    const { session, user } = entry.found;
    if (this.bySession.get(session.id) === key) this.bySession.delete(session.id);
    const keys = this.byUser.get(user.id);
    keys?.delete(key);
    if (keys?.size === 0) this.byUser.delete(user.id);
    return true;
  }

  /** Drops the entry of one session; returns how many entries went (0 or 1). */
  deleteSession(sessionId: string): number {
    const key = this.bySession.get(sessionId);
    return key !== undefined && this.delete(key) ? 1 : 0;
  }

  /** Drops every entry of one user (role change, disable, revoke-all). */
  deleteUser(userId: string): number {
    const keys = [...(this.byUser.get(userId) ?? [])];
    for (const key of keys) this.delete(key);
    return keys.length;
  }

  clear(): void {
    this.entries.clear();
    this.bySession.clear();
    this.byUser.clear();
  }
}
