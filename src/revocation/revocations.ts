import type { Redis } from 'ioredis';
import type { ResolvedConfig } from '../config/resolve.js';
import { withRevocations } from './revoking-storage.js';
import { createRevocationFeed, type RevocationFeed } from './feed.js';
import { RevocationState, type RevocationVerdict } from './revocation-state.js';
import { randomToken } from '../lib/crypto.js';
import { throttleLog } from '../lib/log-throttle.js';
import type { RevocationKind, RevocationRecord, Storage } from '../storage/contract.js';
import type { Database } from '../storage/database.js';

/**
 * Revocations every instance hears: the in-memory state (revoked sessions, per-user "not
 * before"), the change feed that fills it (Redis pub/sub, PostgreSQL LISTEN/NOTIFY, or in
 * process on one SQLite instance), the storage wrapper that turns every session end and
 * account change into a revocation, and the periodic reload from the database. JWT mode
 * checks access tokens against it; the session cache checks its entries against it.
 */
export interface Revocations {
  /** Starts the feed and loads the state (idempotent). */
  start(): Promise<void>;
  /** True while the feed delivers; false: callers check the database instead (fail closed). */
  healthy(): boolean;
  /** Reads what other processes on the same SQLite file revoked, if they wrote since; else undefined. */
  catchUp(): Promise<void> | undefined;
  check(sessionId: string, userId: string, issuedAtMs: number): RevocationVerdict;
  userNotBefore(userId: string): number;
  /** Records a revocation: this instance at once, the database, then every other instance. */
  revoke(kind: RevocationKind, subject: string): Promise<void>;
  /** The storage with every session end and role/disabled change turned into a revocation. */
  wrapStorage(store: Storage): Storage;
  /** Sees every revocation as it is applied here (own and other instances'). */
  subscribe(listener: (record: RevocationRecord) => void): void;
  close(): Promise<void>;
}

export interface RevocationsSetup {
  config: ResolvedConfig;
  storage: () => Promise<Storage>;
  database: () => Promise<Database>;
  redis: string | Redis | undefined;
  channel: string;
  /** How long a revocation is kept: longer than anything it must refuse can live. */
  lifetimeMs: number;
  /** Safety-net reload from the database, whatever the feed says. */
  reloadMs: number;
}

export function createRevocations(setup: RevocationsSetup): Revocations {
  const { config, storage } = setup;
  const now = config.now;
  const state = new RevocationState();
  const listeners: Array<(record: RevocationRecord) => void> = [];
  let feedPromise: Promise<RevocationFeed> | undefined;
  let feed: RevocationFeed | undefined;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  // While Redis or the LISTEN connection is down, the feed fails on every publish and every
  // reconnect attempt, and the reload on every tick: one line each, then a count per minute.
  const feedLog = throttleLog(config.logger);
  const reloadLog = throttleLog(config.logger);

  const apply = (record: RevocationRecord) => {
    state.apply(record);
    for (const listener of listeners) listener(record);
  };

  const reload = async (): Promise<void> => {
    const store = await storage();
    const at = now();
    const records = await store.listRevocations(at);
    state.replace(records, at);
    state.prune(at);
    for (const record of records) for (const listener of listeners) listener(record);
  };

  const start = (): Promise<RevocationFeed> =>
    (feedPromise ??= createRevocationFeed({
      redis: setup.redis,
      channel: setup.channel,
      database: setup.database,
      onRevocation: apply,
      onConnected: reload,
      onError: (message, error) => feedLog.error(message, error instanceof Error ? { cause: error.message } : undefined),
      onRecovered: (message) => feedLog.recovered(message),
      poll: async (since) => (await storage()).listRevocationsSince(since),
    }).then(
      (created) => {
        feed = created;
        if (!closed) {
          timer = setInterval(() => {
            void (async () => {
              await reload();
              await (await storage()).deleteExpiredRevocations(now());
            })().then(
              () => reloadLog.recovered('revocations: background reload works again'),
              (error: unknown) => reloadLog.warn('revocations: background reload failed', { cause: String(error) }),
            );
          }, setup.reloadMs);
          timer.unref();
        }
        return created;
      },
      (error: unknown) => {
        feedPromise = undefined;
        throw error;
      },
    ));

  const record = (kind: RevocationKind, subject: string): RevocationRecord => {
    const at = now();
    return { id: randomToken(12), kind, subject, at, expiresAt: at + setup.lifetimeMs };
  };

  async function revoke(kind: RevocationKind, subject: string): Promise<void> {
    const made = record(kind, subject);
    // This instance refuses at once; the row is the source of truth; the feed tells the others.
    apply(made);
    const store = await storage();
    await store.insertRevocation(made);
    await (await start()).publish(made);
  }

  /** Records a committed transaction already wrote: this instance, then the others. */
  async function announce(records: readonly RevocationRecord[]): Promise<void> {
    for (const made of records) apply(made);
    if (records.length === 0) return;
    const feed = await start();
    for (const made of records) await feed.publish(made);
  }

  return {
    start: async () => {
      await start();
    },
    healthy: () => feed?.healthy() ?? false,
    catchUp: () => feed?.catchUp?.(),
    check: (sessionId, userId, issuedAtMs) => state.check(sessionId, userId, issuedAtMs),
    userNotBefore: (userId) => state.userNotBefore(userId),
    revoke,
    wrapStorage: (store) => withRevocations(store, { revoke, record, announce }),
    subscribe(listener) {
      listeners.push(listener);
    },
    async close() {
      closed = true;
      if (timer !== undefined) clearInterval(timer);
      if (feedPromise !== undefined) await (await feedPromise.catch(() => undefined))?.close();
      feedLog.close();
      reloadLog.close();
    },
  };
}
