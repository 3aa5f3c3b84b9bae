import { Redis } from 'ioredis';
import { sql } from 'kysely';
import { randomToken } from '../lib/crypto.js';
import type { RevocationRecord } from '../storage/contract.js';
import type { Database } from '../storage/database.js';
import { createPollingFeed } from './polling-feed.js';

/**
 * The revocation change feed: every instance hears every revocation. Redis pub/sub when
 * Redis is configured, PostgreSQL LISTEN/NOTIFY on PostgreSQL, and on SQLite this process's
 * own revocations at once plus a poll of the revocations table (other processes on the same
 * file, e.g. the CLI). `healthy` is false while the feed is down or catching up: callers then
 * check the database on every request (fail closed).
 */
export interface RevocationFeed {
  readonly kind: 'redis' | 'postgres' | 'local';
  healthy(): boolean;
  /**
   * Sends a revocation to every instance; resolves once this instance heard its own message back
   * (at most ~1 s), or, while this instance's own listener is not yet (or no longer) in place,
   * once the broker accepted it.
   */
  publish(record: RevocationRecord): Promise<void>;
  /**
   * SQLite: when another connection committed since the last read, reads the revocations now
   * (so a change made by another process counts on the very next request). Undefined when
   * there is nothing to catch up on.
   */
  catchUp?(): Promise<void> | undefined;
  close(): Promise<void>;
}

export interface FeedSetup {
  redis: string | Redis | undefined;
  channel: string;
  database: () => Promise<Database>;
  /** A revocation from another instance (or our own echo). */
  onRevocation(record: RevocationRecord): void;
  /** Called after every (re)connect, before the feed reports healthy: reload the state from the database. */
  onConnected(): Promise<void>;
  /** Every failure, each time it happens (the caller throttles the log: src/lib/log-throttle.ts). */
  onError(message: string, error: unknown): void;
  /** The feed is healthy again (called on every transition to healthy, the first one included). */
  onRecovered?(message: string): void;
  /** Revocations recorded at or after `since` (ms), for the polling feed on SQLite. */
  poll?(since: number): Promise<RevocationRecord[]>;
}

const ECHO_WAIT_MS = 1000;
/** Redis: revocations queued while the publisher reconnects, at most (the database reload covers the rest). */
const MAX_UNSENT = 1000;

interface Message {
  n: string;
  r: RevocationRecord;
}

function parseMessage(text: string): Message | null {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null || !('n' in value) || !('r' in value)) return null;
    const { n, r } = value;
    if (typeof n !== 'string' || typeof r !== 'object' || r === null) return null;
    if (!('kind' in r) || !('subject' in r) || !('at' in r) || !('expiresAt' in r) || !('id' in r)) return null;
    const { kind, subject, at, expiresAt, id } = r;
    if ((kind !== 'session' && kind !== 'user') || typeof subject !== 'string' || typeof at !== 'number' || typeof expiresAt !== 'number' || typeof id !== 'string') return null;
    return { n, r: { id, kind, subject, at, expiresAt } };
  } catch {
    return null;
  }
}

/** Waits for our own messages to come back: by then the broker has sent them to every subscriber. */
function createEchoes() {
  const pending = new Map<string, () => void>();
  return {
    wait(nonce: string): Promise<void> {
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          pending.delete(nonce);
          resolve();
        }, ECHO_WAIT_MS);
        timer.unref();
        pending.set(nonce, () => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
    heard(nonce: string): void {
      pending.get(nonce)?.();
      pending.delete(nonce);
    },
    forget(nonce: string): void {
      pending.get(nonce)?.();
      pending.delete(nonce);
    },
  };
}

export async function createRevocationFeed(setup: FeedSetup): Promise<RevocationFeed> {
  if (setup.redis !== undefined) return createRedisFeed(setup, setup.redis);
  const database = await setup.database();
  if (database.dialect === 'postgres' && database.listen !== undefined) return createPostgresFeed(setup, database);
  // SQLite: this process applies its own revocations before the call returns; other processes
  // on the same file (a second server, the CLI) are heard by polling the revocations table.
  await setup.onConnected();
  if (setup.poll === undefined) return { kind: 'local', healthy: () => true, publish: async () => {}, close: async () => {} };
  return createPollingFeed(setup, setup.poll, database.dataVersion?.bind(database));
}

function createRedisFeed(setup: FeedSetup, redis: string | Redis): RevocationFeed {
  // The publisher and the subscriber reconnect on their own schedules. A revocation published
  // while ours is reconnecting waits in ioredis' offline queue (no retry limit) and goes out once
  // it is back, instead of being lost to instances whose subscriber is already back and trusts
  // the feed (they would miss it until the periodic reload). publish() waits for it at most
  // ECHO_WAIT_MS, like for the echo.
  const options = { maxRetriesPerRequest: null, connectTimeout: 2000 } as const;
  const publisher = typeof redis === 'string' ? new Redis(redis, options) : redis;
  let unsent = 0;
  // Named, so an operator (or a test) can find the feed's connection in CLIENT LIST.
  const connectionName = `gatehouse_feed_${setup.channel}`;
  const subscriber = typeof redis === 'string' ? new Redis(redis, { connectTimeout: 2000, connectionName }) : redis.duplicate({ connectionName });
  const echoes = createEchoes();
  let healthy = false;
  // Our subscriber is subscribed: only then can our own message come back to us.
  let subscribed = false;
  let closed = false;
  if (typeof redis === 'string')
    publisher.on('error', (error) => setup.onError('revocation feed: Redis publisher error; revocations are still written to the database. Check that Redis is reachable', error));
  // Healthy again: our subscriber caught up and our publisher is connected (whichever comes last).
  const recovered = () => {
    if (!closed && healthy && publisher.status === 'ready') setup.onRecovered?.('revocation feed: Redis reconnected and caught up from the database; trusting the feed again');
  };
  publisher.on('ready', recovered);

  subscriber.on('message', (_channel: string, text: string) => {
    const message = parseMessage(text);
    if (message === null) return;
    setup.onRevocation(message.r);
    echoes.heard(message.n);
  });
  // Each connection of the subscriber has a number: a reload started for a connection that has
  // been lost since must not report health for the next one (it read the database before the
  // outage, and misses what was revoked during it).
  let connection = 0;
  const down = () => {
    connection++;
    if (healthy) setup.onError('revocation feed: Redis connection lost; checking the database on every request until it is back', null);
    healthy = false;
    subscribed = false;
  };
  subscriber.on('error', down);
  subscriber.on('close', down);
  subscriber.on('end', down);
  const current = (epoch: number) => !closed && epoch === connection && subscriber.status === 'ready';
  // On every (re)connect: subscribe, then catch up from the database (messages sent while we were
  // away are lost). A failed reload is retried while this connection lasts (it stays unhealthy).
  subscriber.on('ready', () => {
    const epoch = ++connection;
    void (async () => {
      for (let retryMs = 250; ; retryMs = Math.min(retryMs * 2, 10_000)) {
        try {
          await subscriber.subscribe(setup.channel);
          if (!current(epoch)) return;
          subscribed = true;
          await setup.onConnected();
          if (current(epoch)) {
            healthy = true;
            recovered();
          }
          return;
        } catch (error) {
          if (!current(epoch)) return;
          setup.onError('revocation feed: Redis subscribe or reload failed; retrying', error);
          await new Promise((resolve) => setTimeout(resolve, retryMs).unref());
          if (!current(epoch)) return;
        }
      }
    })();
  });

  return {
    kind: 'redis',
    // Healthy both ways: we hear the others, and what we revoke reaches them now.
    healthy: () => healthy && publisher.status === 'ready',
    async publish(record) {
      // The row is in the database: instances whose feed is down check it there, and every
      // instance reads it again when its subscriber reconnects and at the periodic reload.
      if (unsent >= MAX_UNSENT) return;
      // While our subscriber is not subscribed (starting, reconnecting) no echo can come back:
      // the publish reply is all there is to wait for (instances that are subscribed have the
      // message by then; the others check the database until they reload).
      const listening = subscribed;
      const nonce = randomToken(9);
      const echo = echoes.wait(nonce);
      unsent++;
      const sent = publisher
        .publish(setup.channel, JSON.stringify({ n: nonce, r: record } satisfies Message))
        .then(
          () => true,
          (error: unknown) => {
            echoes.forget(nonce);
            if (!closed) setup.onError('revocation feed: Redis publish failed; the revocation is in the database, and instances whose feed is up see it at their next reload. Check that Redis is reachable', error);
            return false;
          },
        )
        .finally(() => {
          unsent--;
        });
      // Sent: wait for the echo. Queued while the publisher reconnects: the echo wait bounds it.
      await Promise.race([echo, sent.then((ok) => (ok && listening ? echo : undefined))]);
      if (!listening) echoes.forget(nonce);
    },
    async close() {
      closed = true;
      healthy = false;
      publisher.off('ready', recovered);
      subscriber.disconnect();
      if (typeof redis === 'string') publisher.disconnect();
    },
  };
}

function createPostgresFeed(setup: FeedSetup, database: Database): RevocationFeed {
  const echoes = createEchoes();
  let healthy = false;
  // Our LISTEN is in place: only then can our own NOTIFY come back to us.
  let listening = false;
  let closed = false;
  let stop: (() => Promise<void>) | undefined;
  let retryMs = 250;
  let timer: NodeJS.Timeout | undefined;

  // Each attempt has a number: a callback from an older, replaced connection changes nothing.
  let attempt = 0;
  const connect = async (): Promise<void> => {
    if (closed || database.listen === undefined) return;
    const generation = ++attempt;
    // Lost again while catching up: stay unhealthy (the next connect reports health).
    let lost = false;
    let opened: (() => Promise<void>) | undefined;
    try {
      opened = await database.listen(
        setup.channel,
        (payload) => {
          const message = parseMessage(payload);
          if (message === null) return;
          setup.onRevocation(message.r);
          echoes.heard(message.n);
        },
        (error) => {
          if (generation !== attempt) return;
          lost = true;
          listening = false;
          if (healthy) setup.onError('revocation feed: PostgreSQL LISTEN connection lost; checking the database on every request until it is back', error);
          healthy = false;
          stop = undefined;
          schedule();
        },
      );
      // Closed while connecting: this connection would outlive the feed and keep the process up.
      if (closed) {
        await opened().catch(() => {});
        return;
      }
      stop = opened;
      listening = !lost;
      await setup.onConnected();
      healthy = !closed && !lost;
      retryMs = 250;
      if (healthy) setup.onRecovered?.('revocation feed: PostgreSQL LISTEN reconnected and caught up from the database; trusting the feed again');
    } catch (error) {
      healthy = false;
      listening = false;
      // LISTEN worked but the reload failed: end that connection, the retry opens a new one.
      if (opened !== undefined) {
        if (stop === opened) stop = undefined;
        await opened().catch(() => {});
      }
      if (closed) return;
      setup.onError('revocation feed: PostgreSQL LISTEN failed; checking the database on every request and retrying. Check the database connection', error);
      schedule();
    }
  };
  const schedule = () => {
    if (closed || timer !== undefined) return;
    timer = setTimeout(() => {
      timer = undefined;
      void connect();
    }, retryMs);
    timer.unref();
    retryMs = Math.min(retryMs * 2, 10_000);
  };
  void connect();

  return {
    kind: 'postgres',
    healthy: () => healthy,
    async publish(record) {
      // Not listening (starting, reconnecting): no echo can come back; the committed NOTIFY is
      // all there is to wait for (listening instances get it; the others check the database).
      const heard = listening;
      const nonce = randomToken(9);
      const echo = echoes.wait(nonce);
      try {
        await sql`select pg_notify(${setup.channel}, ${JSON.stringify({ n: nonce, r: record } satisfies Message)})`.execute(database.kysely);
      } catch (error) {
        echoes.forget(nonce);
        setup.onError('revocation feed: NOTIFY failed; the revocation is in the database, and instances whose feed is up see it at their next reload', error);
        return;
      }
      if (heard) await echo;
      else echoes.forget(nonce);
    },
    async close() {
      closed = true;
      healthy = false;
      if (timer !== undefined) clearTimeout(timer);
      await stop?.().catch(() => {});
    },
  };
}
