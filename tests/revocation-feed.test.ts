import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { Redis } from 'ioredis';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../src/index.js';
import { createRevocationFeed, type FeedSetup } from '../src/revocation/feed.js';
import { randomToken } from '../src/lib/crypto.js';
import { hasPostgres, hasRedis, PG_URL, REDIS_URL } from './services.js';

/**
 * The revocation feed's own connections: none may outlive the feed, pile up when a reload
 * fails, or fail the process when the database goes away under a timer. (JWT-mode behaviour
 * through the feed is in jwt-revocation.test.ts and failures.test.ts.)
 */
const quiet = { onRevocation() {}, onError() {} };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const newChannel = () => `gh_feed_${randomToken(6).toLowerCase().replace(/[^a-z0-9]/g, '')}`;
const record = () => ({ id: randomToken(9), kind: 'session' as const, subject: randomToken(9), at: Date.now(), expiresAt: Date.now() + 60_000 });
/** The echo wait is 1000 ms; a publish that does not wait for it returns in a few ms. */
const NO_ECHO_WAIT_MS = 500;

describe.runIf(hasPostgres)('PostgreSQL LISTEN feed', () => {
  let database: Database;
  let admin: pg.Client;
  beforeAll(async () => {
    database = await openDatabase(PG_URL);
    admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.end();
    await database?.close();
  });

  /** The feed names its connection after the channel (pg_stat_activity.application_name). */
  const listeners = async (channel: string) =>
    (await admin.query<{ n: number }>('select count(*)::int as n from pg_stat_activity where application_name = $1', [`gatehouse_feed_${channel}`])).rows[0]!.n;
  const setup = (channel: string, onConnected: () => Promise<void>): FeedSetup => ({ ...quiet, redis: undefined, channel, database: async () => database, onConnected });

  it('ends the connection whose reload failed: one connection once healthy, none after close', async () => {
    const channel = `gh_feed_${randomToken(6).toLowerCase().replace(/[^a-z0-9]/g, '')}`;
    let failures = 3;
    const feed = await createRevocationFeed(
      setup(channel, async () => {
        if (failures-- > 0) throw new Error('reload failed');
      }),
    );
    // Retries back off from 250 ms: 250 + 500 + 1000 ms, then the fourth attempt reloads.
    for (let i = 0; i < 60 && !feed.healthy(); i++) await sleep(100);
    expect(feed.healthy()).toBe(true);
    expect(await listeners(channel)).toBe(1);
    await feed.close();
    await sleep(200);
    expect(await listeners(channel)).toBe(0);
  });

  it('closed while still connecting: the connection that opens afterwards is ended at once', async () => {
    const channel = `gh_feed_${randomToken(6).toLowerCase().replace(/[^a-z0-9]/g, '')}`;
    const feed = await createRevocationFeed(setup(channel, async () => {}));
    await feed.close();
    await sleep(500);
    expect(await listeners(channel)).toBe(0);
    expect(feed.healthy()).toBe(false);
  });
});

describe.runIf(hasPostgres)('PostgreSQL LISTEN feed: publishing before its own LISTEN is in place', () => {
  it('sends the NOTIFY and returns without waiting for an echo it cannot hear', async () => {
    // The first sign-out after start-up took a whole second (the echo wait) when it came before
    // the feed's LISTEN: the app waited for a message its own connection could not yet receive.
    const database = await openDatabase(PG_URL);
    const other = new pg.Client({ connectionString: PG_URL });
    await other.connect();
    try {
      const channel = newChannel();
      await other.query(`listen ${channel}`);
      const received = new Promise<string>((resolve) => other.on('notification', (message) => resolve(message.payload ?? '')));
      // A LISTEN that never completes: this instance is starting and not listening yet.
      const stalled: Database = { ...database, listen: () => new Promise(() => {}) };
      const feed = await createRevocationFeed({ ...quiet, redis: undefined, channel, database: async () => stalled, onConnected: async () => {} });
      const sent = record();
      const started = performance.now();
      await feed.publish(sent);
      expect(performance.now() - started).toBeLessThan(NO_ECHO_WAIT_MS);
      expect(JSON.parse(await received)).toMatchObject({ r: { id: sent.id } });
      await feed.close();
    } finally {
      await other.end();
      await database.close();
    }
  });
});

describe.runIf(hasRedis)('Redis feed: publishing before its own subscriber is subscribed', () => {
  it('publishes and returns without waiting for an echo it cannot hear', async () => {
    const publisher = new Redis(REDIS_URL);
    const other = new Redis(REDIS_URL);
    // The feed's subscriber (a duplicate of the connection it is given) cannot connect: this
    // instance is not subscribed, while the publisher and other instances are.
    const unreachable = new Redis('redis://127.0.0.1:1', { lazyConnect: true });
    publisher.duplicate = (() => unreachable) as typeof publisher.duplicate;
    try {
      const channel = newChannel();
      await other.subscribe(channel);
      const received = new Promise<string>((resolve) => other.on('message', (_channel: string, text: string) => resolve(text)));
      const feed = await createRevocationFeed({ ...quiet, redis: publisher, channel, database: async () => { throw new Error('not used'); }, onConnected: async () => {} });
      const sent = record();
      const started = performance.now();
      await feed.publish(sent);
      expect(performance.now() - started).toBeLessThan(NO_ECHO_WAIT_MS);
      expect(JSON.parse(await received)).toMatchObject({ r: { id: sent.id } });
      expect(feed.healthy()).toBe(false);
      await feed.close();
    } finally {
      unreachable.disconnect();
      other.disconnect();
      publisher.disconnect();
    }
  });
});

describe.runIf(hasRedis)('Redis feed: reconnects and reloads', () => {
  /** A Redis feed on its own channel; the database is never used by these tests. */
  const redisFeed = (channel: string, setup: Partial<FeedSetup>) =>
    createRevocationFeed({
      ...quiet,
      redis: REDIS_URL,
      channel,
      database: async () => {
        throw new Error('not used');
      },
      onConnected: async () => {},
      ...setup,
    });

  /** Ends the feed's subscriber connection from the server side, as a network cut would. */
  const killSubscriber = async (admin: Redis, channel: string) => {
    const list = (await admin.client('LIST')) as string;
    const line = list.split('\n').find((l) => l.includes(`name=gatehouse_feed_${channel}`));
    await admin.client('KILL', 'ID', /id=(\d+)/.exec(line ?? '')![1]!);
  };

  it('a reload started for a connection lost since does not report the next connection healthy', async () => {
    const channel = newChannel();
    const admin = new Redis(REDIS_URL);
    const reloads: (() => void)[] = [];
    // A slow database: each reload waits until the test lets it finish.
    const feed = await redisFeed(channel, { onConnected: () => new Promise<void>((resolve) => reloads.push(resolve)) });
    try {
      for (let i = 0; i < 100 && reloads.length < 1; i++) await sleep(20);
      expect(reloads).toHaveLength(1);
      // Connection 1 drops while its reload (which read the database before the outage) runs;
      // connection 2 comes back and starts its own reload.
      await killSubscriber(admin, channel);
      for (let i = 0; i < 150 && reloads.length < 2; i++) await sleep(20);
      expect(reloads).toHaveLength(2);
      reloads[0]!();
      await sleep(50);
      // Without the connection number, the stale reload made the feed healthy here.
      expect(feed.healthy()).toBe(false);
      reloads[1]!();
      for (let i = 0; i < 50 && !feed.healthy(); i++) await sleep(20);
      expect(feed.healthy()).toBe(true);
    } finally {
      await feed.close();
      admin.disconnect();
    }
  });

  it('a failed reload is retried on the same connection until it works (no reconnect needed)', async () => {
    const channel = newChannel();
    let failures = 2;
    const errors: string[] = [];
    const feed = await redisFeed(channel, {
      onConnected: async () => {
        if (failures-- > 0) throw new Error('database down');
      },
      onError: (message) => errors.push(message),
    });
    try {
      // 250 + 500 ms of back-off, then the third reload works.
      for (let i = 0; i < 60 && !feed.healthy(); i++) await sleep(50);
      expect(feed.healthy()).toBe(true);
      expect(errors).toEqual(['revocation feed: Redis subscribe or reload failed; retrying', 'revocation feed: Redis subscribe or reload failed; retrying']);
    } finally {
      await feed.close();
    }
  });
});

describe('SQLite polling feed', () => {
  it('keeps running quietly when the database closes under it, and closes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-feed-'));
    try {
      const database = await openDatabase(`sqlite:${join(dir, 'feed.db')}`);
      await sql`select 1`.execute(database.kysely);
      const errors: string[] = [];
      const feed = await createRevocationFeed({
        ...quiet,
        redis: undefined,
        channel: 'x',
        database: async () => database,
        onConnected: async () => {},
        onError: (message) => errors.push(message),
        poll: async () => [],
      });
      // An app that closes its own Database before auth.close(): the next polls read
      // PRAGMA data_version on a closed handle. That threw outside the poll's try, an unhandled
      // rejection from the timer (vitest fails the run on one).
      await database.close();
      await sleep(1500);
      await feed.close();
      expect(errors.every((message) => message.startsWith('revocation feed: cannot read revocations'))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
