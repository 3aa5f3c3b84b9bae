import pg from 'pg';
import { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';

/**
 * PostgreSQL and Redis for tests. Outside CI, a test that needs a service that is not
 * reachable is skipped with a printed reason. With GATEHOUSE_REQUIRE_SERVICES=1 (set by
 * .ci/run) a missing service is a failure instead.
 */
export const PG_URL = process.env.DATABASE_TEST_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_URL = process.env.REDIS_TEST_URL ?? 'redis://127.0.0.1:6379';
const REQUIRED = process.env.GATEHOUSE_REQUIRE_SERVICES === '1';

async function probePostgres(): Promise<string | null> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('select 1');
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  } finally {
    await client.end().catch(() => {});
  }
}

async function probeRedis(): Promise<string | null> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on('error', () => {});
  try {
    await redis.connect();
    await redis.ping();
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  } finally {
    redis.disconnect();
  }
}

async function available(name: string, probe: () => Promise<string | null>): Promise<boolean> {
  const problem = await probe();
  if (problem === null) return true;
  if (REQUIRED) throw new Error(`${name} is required (GATEHOUSE_REQUIRE_SERVICES=1) but not reachable: ${problem}`);
  console.warn(`[skip] ${name} not reachable (${problem}); its tests are skipped. Set GATEHOUSE_REQUIRE_SERVICES=1 to fail instead.`);
  return false;
}

export const hasPostgres = await available(`PostgreSQL at ${PG_URL}`, probePostgres);
export const hasRedis = await available(`Redis at ${REDIS_URL}`, probeRedis);

/** A fresh, empty PostgreSQL schema; the returned URL puts it first on the search_path. */
export async function freshPostgres(): Promise<{ url: string; drop(): Promise<void> }> {
  const schema = `gh_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  await admin.end();
  const url = new URL(PG_URL);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`drop schema if exists ${schema} cascade`);
      await c.end();
    },
  };
}

/** A unique key prefix so tests sharing one Redis never see each other's counters. */
export function redisPrefix(): string {
  return `gh_test_${randomBytes(6).toString('hex')}`;
}
