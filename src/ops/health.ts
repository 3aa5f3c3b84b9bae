import { sql } from 'kysely';
import type { JwtMode } from '../jwt/jwt-mode.js';
import type { RateLimiter } from '../protect/rate-limit.js';
import type { Database } from '../storage/database.js';
import { NewerSchemaError, pendingMigrations } from '../storage/migrate.js';

export interface ReadinessCheck {
  name: string;
  ok: boolean;
  /**
   * Serving, but with less than usual (Redis down: rate limits counted per instance). Does not
   * make the instance unready: every instance shares the Redis, and taking all of them out of
   * the load balancer for it would turn a looser limit into an outage.
   */
  degraded?: boolean;
  /** A short, fixed description: never a connection string or a driver message. */
  detail: string;
}

export interface ReadinessReport {
  ready: boolean;
  checks: ReadinessCheck[];
}

export interface ReadinessSetup {
  database: () => Promise<Database>;
  limiter: () => Promise<RateLimiter>;
  redisConfigured: boolean;
  /** More checks from other parts (e.g. signing keys in JWT mode). */
  extra?: Array<() => Promise<ReadinessCheck>>;
}

/** Each check gets at most this long: a hung dependency makes the instance not ready, not the probe hang. */
const CHECK_TIMEOUT_MS = 2000;

function withTimeout<T>(work: Promise<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('timed out')), CHECK_TIMEOUT_MS);
    timer.unref();
    work.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

async function check(name: string, run: () => Promise<string>, failure: string): Promise<ReadinessCheck> {
  try {
    return { name, ok: true, detail: await withTimeout(run()) };
  } catch (error) {
    const timedOut = error instanceof Error && error.message === 'timed out';
    return { name, ok: false, detail: timedOut ? `${failure} (no answer within ${CHECK_TIMEOUT_MS / 1000} s)` : failure };
  }
}

/** Runs every readiness check in parallel (docs/operations.md). */
export async function checkReadiness(setup: ReadinessSetup): Promise<ReadinessReport> {
  const checks = await Promise.all([
    check(
      'database',
      async () => {
        const db = await setup.database();
        await sql`select 1`.execute(db.kysely);
        return `${db.dialect} reachable`;
      },
      'database unreachable',
    ),
    (async (): Promise<ReadinessCheck> => {
      try {
        const pending = await withTimeout(setup.database().then(pendingMigrations));
        return pending.length === 0
          ? { name: 'migrations', ok: true, detail: 'all applied' }
          : { name: 'migrations', ok: false, detail: `${pending.length} pending: ${pending.join(', ')} (run gatehouse migrate)` };
      } catch (error) {
        if (error instanceof NewerSchemaError) return { name: 'migrations', ok: false, detail: `migrated by a newer Gatehouse (unknown: ${error.unknown.join(', ')}): upgrade Gatehouse` };
        return { name: 'migrations', ok: false, detail: 'could not read the migration table' };
      }
    })(),
    ...(setup.redisConfigured
      ? [
          check('redis', async () => `${await (await setup.limiter()).ping()} reachable`, 'Redis unreachable').then((result) =>
            result.ok ? result : { name: 'redis', ok: true, degraded: true, detail: `${result.detail}: rate limits are counted per instance (in memory) until it returns` },
          ),
        ]
      : []),
    ...(setup.extra ?? []).map((extra) => extra()),
  ]);
  return { ready: checks.every((c) => c.ok), checks };
}

/**
 * JWT mode: signing keys loaded (decrypted with the configured secret). The revocation feed
 * is reported but does not make the instance unready: while it is down every request checks
 * the database instead (fail closed, just slower).
 */
export async function jwtReadiness(jwt: JwtMode): Promise<ReadinessCheck> {
  try {
    await withTimeout(jwt.ready());
    // Loaded is not enough: a wrong jwt.secret cannot decrypt the key that signs, and every sign-in would fail.
    await withTimeout(jwt.checkSigningKey());
    const { keys } = await withTimeout(jwt.jwks());
    if (keys.length === 0) return { name: 'signing-keys', ok: false, detail: 'no signing key loaded' };
    const feed = jwt.feedHealthy() ? 'revocation feed up' : 'revocation feed down: checking the database per request';
    return { name: 'signing-keys', ok: true, detail: `${keys.length} key(s) loaded; ${feed}` };
  } catch {
    return { name: 'signing-keys', ok: false, detail: 'signing keys could not be loaded (check jwt.secret and the database)' };
  }
}
