import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { createGatehouse, openDatabase, type Gatehouse } from '../src/index.js';
import { throttleLog } from '../src/lib/log-throttle.js';
import { ORIGIN } from './helpers.js';
import { JWT_SECRET } from './jwt-helpers.js';
import { redisPrefix } from './services.js';
import { startPrivateRedis, type PrivateService } from './support/private-services.js';

/**
 * A Redis outage must not flood the log: the revocation feed failed once per revocation (publish)
 * and once per reconnect attempt (publisher 'error'), each an error line for as long as Redis
 * stayed down. Now: the first line of each kind at once, repeats counted, one summary and one
 * "reconnected" line when the feed is back (docs/operations.md, "Logs").
 */
interface Line {
  level: 'warn' | 'error';
  message: string;
  details: Record<string, unknown> | undefined;
}

function capture() {
  const lines: Line[] = [];
  return {
    lines,
    logger: {
      warn: (message: string, details?: Record<string, unknown>) => lines.push({ level: 'warn', message, details }),
      error: (message: string, details?: Record<string, unknown>) => lines.push({ level: 'error', message, details }),
    },
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(probe: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe() && Date.now() < deadline) await sleep(50);
  expect(probe()).toBe(true);
}

describe('Redis down: the revocation feed logs the outage, not every failure', () => {
  const cleanup: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  /** A JWT-mode instance on SQLite whose revocation feed runs on `redis`; healthy before it returns. */
  async function start(redis: string | Redis): Promise<{ auth: Gatehouse; lines: Line[]; userIds: string[] }> {
    const { lines, logger } = capture();
    const database = await openDatabase('sqlite::memory:');
    const auth = createGatehouse({ database, origin: ORIGIN, logger, session: { strategy: 'jwt' }, jwt: { secret: JWT_SECRET, redis, channel: `gh_${redisPrefix()}` } });
    cleanup.push(() => database.close(), () => auth.close());
    await auth.migrate();
    await auth.jwt!.ready();
    await until(() => auth.jwt!.feedHealthy(), 10_000);
    const userIds: string[] = [];
    for (let i = 0; i < 50; i++) userIds.push((await auth.users.create({ email: `u${i}@example.com`, name: 'Before' })).id);
    return { auth, lines, userIds };
  }

  /** One revocation per user (a new display name refuses their older access tokens everywhere). */
  const revokeAll = (auth: Gatehouse, userIds: string[]) => Promise.all(userIds.map((id) => auth.users.setName(id, 'After', { userId: id, role: null })));

  it('50 revocations whose publish fails at once: one error line with its cause, not 50; one summary and one "reconnected" when Redis returns', async () => {
    const redis: PrivateService = await startPrivateRedis();
    cleanup.push(() => redis.close());
    // An app's own client that fails commands at once while disconnected (no offline queue):
    // every publish during the outage is rejected.
    const client = new Redis(redis.url, { enableOfflineQueue: false });
    client.on('error', () => {});
    cleanup.push(() => client.disconnect());
    const { auth, lines, userIds } = await start(client);
    expect(lines).toEqual([]);

    await redis.kill();
    await until(() => !auth.jwt!.feedHealthy(), 10_000);
    await revokeAll(auth, userIds);
    await sleep(500);
    const duringOutage = lines.filter((line) => line.level === 'error');
    // The connection loss and the first failed publish, each once, with the cause.
    expect(duringOutage.length).toBeLessThanOrEqual(2);
    const publish = duringOutage.filter((line) => line.message.startsWith('revocation feed: Redis publish failed'));
    expect(publish).toHaveLength(1);
    expect(publish[0]!.message).toMatch(/Check that Redis is reachable/);
    expect(publish[0]!.details).toEqual({ cause: expect.any(String) });

    await redis.start();
    await until(() => auth.jwt!.feedHealthy(), 20_000);
    await sleep(200);
    const reconnected = lines.filter((line) => /reconnected/.test(line.message));
    expect(reconnected).toHaveLength(1);
    expect(reconnected[0]!.level).toBe('warn');
    // The 49 publishes not logged are counted in one line, logged before the recovery.
    const summary = lines.filter((line) => line.message.startsWith('revocation feed: Redis publish failed') && line.details?.repeated !== undefined);
    expect(summary).toHaveLength(1);
    expect(summary[0]!.details?.repeated).toBe(49);
    expect(lines.indexOf(summary[0]!)).toBeLessThan(lines.indexOf(reconnected[0]!));
    // Healthy again: a revocation logs nothing.
    const before = lines.length;
    await auth.users.setName(userIds[0]!, 'Again', { userId: userIds[0]!, role: null });
    expect(lines.length).toBe(before);
  }, 60_000);

  it('a Redis URL: the publisher\'s reconnect attempts during a 4 s outage log once, not once per attempt; "reconnected" once', async () => {
    const redis: PrivateService = await startPrivateRedis();
    cleanup.push(() => redis.close());
    const { auth, lines, userIds } = await start(redis.url);

    await redis.kill();
    await until(() => !auth.jwt!.feedHealthy(), 10_000);
    // Queued while the publisher reconnects (each waits at most the 1 s echo wait).
    await revokeAll(auth, userIds);
    // ioredis retries after 50, 100, 150 ... ms: about a dozen failed attempts in 4 s.
    await sleep(4000);
    const duringOutage = lines.filter((line) => line.level === 'error');
    expect(duringOutage.length).toBeLessThanOrEqual(2);
    expect(duringOutage.filter((line) => line.message.startsWith('revocation feed: Redis publisher error'))).toHaveLength(1);

    await redis.start();
    await until(() => auth.jwt!.feedHealthy(), 20_000);
    await sleep(200);
    expect(lines.filter((line) => /reconnected/.test(line.message))).toHaveLength(1);
    const summary = lines.find((line) => line.message.startsWith('revocation feed: Redis publisher error') && line.details?.repeated !== undefined);
    expect(summary?.details?.repeated).toBeGreaterThan(0);
  }, 60_000);
});

describe('throttleLog', () => {
  it('ends each window with one summary while the failures go on, and logs the next one in full after a quiet window', async () => {
    const { lines, logger } = capture();
    const log = throttleLog(logger, 200);
    try {
      for (let i = 0; i < 10; i++) log.error('down', { cause: `attempt ${i}` });
      expect(lines).toEqual([{ level: 'error', message: 'down', details: { cause: 'attempt 0' } }]);
      await sleep(300);
      // Window over: the count, with the last cause.
      expect(lines[1]).toEqual({ level: 'error', message: 'down (repeated 9 more times, not logged one by one)', details: { cause: 'attempt 9', repeated: 9 } });
      log.error('down', { cause: 'attempt 10' });
      await sleep(300);
      expect(lines).toHaveLength(3);
      // A window with no repeat: the next failure is news again.
      await sleep(300);
      log.error('down', { cause: 'attempt 11' });
      expect(lines).toHaveLength(4);
      expect(lines[3]).toEqual({ level: 'error', message: 'down', details: { cause: 'attempt 11' } });
      // Recovery: once, and only after a failure.
      log.recovered('back');
      log.recovered('back');
      expect(lines.slice(4)).toEqual([{ level: 'warn', message: 'back', details: undefined }]);
    } finally {
      log.close();
    }
  });
});
