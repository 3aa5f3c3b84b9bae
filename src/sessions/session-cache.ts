import type { ResolvedConfig } from '../config/resolve.js';
import { sha256 } from '../lib/crypto.js';
import { throttleLog } from '../lib/log-throttle.js';
import type { MetricsRecorder } from '../ops/metrics.js';
import type { Revocations } from '../revocation/revocations.js';
import type { SessionWithUser, Storage } from '../storage/contract.js';
import type { Sessions } from './sessions.js';

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
    // Map order is insertion order: re-inserting marks the entry most recently used. Only
    // when the map is near its bound (eviction is close): otherwise it costs and buys nothing.
    if (this.entries.size > this.maxEntries * 0.9) {
      this.entries.delete(key);
      this.entries.set(key, entry);
    }
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

const HIT = { event: 'hit' };
const MISS = { event: 'miss' };
const BYPASS = { event: 'bypass' };

export interface CachedSessionsSetup {
  inner: Sessions;
  storage: () => Promise<Storage>;
  revocations: Revocations;
  config: ResolvedConfig;
  settings: { maxEntries: number; maxAgeMs: number };
  metrics: MetricsRecorder;
}

/**
 * Database sessions with the cache in front (issue 9). A hit costs one SHA-256 and a map
 * lookup, no database read and no write (activity is still written at most once per touch
 * interval). An entry is trusted only while: the revocation feed is healthy (otherwise every
 * request goes to the database), the session is within its idle and absolute expiry, the entry
 * is younger than `maxAgeMs`, and no revocation names its session or its user after it was
 * read. Revocations on any instance drop entries here through the feed.
 */
export function createCachedSessions(setup: CachedSessionsSetup): Sessions {
  const { inner, revocations, config, settings, metrics } = setup;
  const cache = new SessionCache(settings.maxEntries);
  // Bumped by every revocation applied here: a read that overlapped one is not cached.
  let generation = 0;
  revocations.subscribe((record) => {
    generation++;
    const dropped = record.kind === 'session' ? cache.deleteSession(record.subject) : cache.deleteUser(record.subject);
    if (dropped > 0) metrics.count('session_cache_total', { event: 'invalidation' });
  });
  let started: Promise<void> | undefined;
  let running = false;
  // A feed that cannot start is tried again on every request: one line, then a count per minute.
  const startLog = throttleLog(config.logger);

  return {
    create: (userId, input) => inner.create(userId, input),
    async validate(token) {
      if (token === null) return null;
      // The feed must be running for the cache to be trusted; until it is, the database answers.
      if (!running) {
        started ??= revocations.start().then(
          () => {
            running = true;
            startLog.recovered('session cache: revocation feed started; using the cache again');
          },
          (error: unknown) => {
            started = undefined;
            startLog.warn('session cache: revocation feed failed to start; using the database', { cause: String(error) });
          },
        );
        await started;
      }
      if (!revocations.healthy()) {
        metrics.count('session_cache_total', BYPASS);
        if (cache.size > 0) cache.clear();
        return inner.validate(token);
      }
      // Another process on the same SQLite file committed: read its revocations before trusting an entry.
      const catchingUp = revocations.catchUp();
      if (catchingUp !== undefined) await catchingUp;
      const key = sha256(token);
      const now = config.now();
      const entry = cache.get(key);
      if (entry !== undefined) {
        const { session, user } = entry.found;
        const fresh =
          now < session.expiresAt && now < session.absoluteExpiresAt && now - entry.loadedAt < settings.maxAgeMs && revocations.check(session.id, user.id, entry.loadedAt) === 'ok';
        if (fresh) {
          if (now - session.lastSeenAt >= config.touchIntervalMs) {
            // Sliding expiry, written at most once per touch interval (the same rule as without the cache).
            const expiresAt = Math.min(now + config.idleTimeoutMs, session.absoluteExpiresAt);
            const store = await setup.storage();
            if (await store.touchSession(session.id, session.lastSeenAt, { lastSeenAt: now, expiresAt })) {
              // A new object, not a mutation: results derived from the old one stay as they were.
              entry.found = { session: { ...session, lastSeenAt: now, expiresAt }, user };
            }
          }
          metrics.count('session_cache_total', HIT);
          return entry.found;
        }
        cache.delete(key);
      }
      metrics.count('session_cache_total', MISS);
      const before = generation;
      const loadedAt = now;
      const found = await inner.validate(token);
      if (found !== null && generation === before && revocations.healthy() && revocations.check(found.session.id, found.user.id, loadedAt) === 'ok') {
        cache.set(key, { found, loadedAt });
      }
      return found;
    },
  };
}
