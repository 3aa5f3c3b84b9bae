import { serve } from '@hono/node-server';
import { pino } from 'pino';
import type { JWK } from 'jose';
import { createGatehouse, openDatabase, redactUrl, ConfigurationError, DEFAULT_DATABASE_URL, DEFAULTS, type LimitName } from 'gatehouse';
import { demoAuthz } from './authz.js';
import { createDemoApp } from './app.js';
import { createPostsStore } from './posts.js';
import { demoProviders } from './providers.js';

/** RATE_LIMIT_SCALE=N multiplies every limit's points (load tests from one machine); unset: the defaults. */
function scaledLimits(scale: string | undefined): Partial<Record<LimitName, { points: number; durationSeconds: number }>> | undefined {
  if (scale === undefined || scale === '') return undefined;
  const factor = Number(scale);
  if (!Number.isInteger(factor) || factor < 1 || factor > 10_000) throw new ConfigurationError(`RATE_LIMIT_SCALE "${scale}" must be a whole number from 1 to 10000.`);
  return Object.fromEntries(Object.entries(DEFAULTS.limits).map(([name, limit]) => [name, { points: limit.points * factor, durationSeconds: limit.durationSeconds }]));
}

/** GATEHOUSE_JWT_SIGNING_KEYS: a JSON array of private JWKs (the first signs), instead of generated keys. */
function signingKeysFromEnv(): JWK[] | undefined {
  const raw = process.env.GATEHOUSE_JWT_SIGNING_KEYS;
  if (raw === undefined || raw === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ConfigurationError('GATEHOUSE_JWT_SIGNING_KEYS must be a JSON array of private JWKs.');
  }
  if (!Array.isArray(parsed) || !parsed.every((k) => typeof k === 'object' && k !== null)) throw new ConfigurationError('GATEHOUSE_JWT_SIGNING_KEYS must be a JSON array of private JWKs.');
  return parsed as JWK[];
}

/** `npm start`: the demo on http://localhost:3000, SQLite by default, PostgreSQL/Redis through env. */
async function main(): Promise<void> {
  const port = Number(process.env.PORT ?? 3000);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new ConfigurationError(`PORT "${process.env.PORT}" must be a number from 1 to 65535.`);
  const origin = process.env.GATEHOUSE_ORIGIN ?? `http://localhost:${port}`;
  const databaseUrl = process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL;
  const metricsPort = process.env.METRICS_PORT === undefined || process.env.METRICS_PORT === '' ? null : Number(process.env.METRICS_PORT);
  if (metricsPort !== null && (!Number.isInteger(metricsPort) || metricsPort < 1 || metricsPort > 65535)) {
    throw new ConfigurationError(`METRICS_PORT "${process.env.METRICS_PORT}" must be a number from 1 to 65535.`);
  }
  // Structured JSON logs on stdout when LOG_FORMAT=json (the access log only carries fixed fields).
  const json = process.env.LOG_FORMAT === 'json' ? pino({ base: { service: 'gatehouse-demo' } }) : null;
  const strategy = process.env.GATEHOUSE_SESSION_STRATEGY ?? 'database';
  if (strategy !== 'database' && strategy !== 'jwt') throw new ConfigurationError(`GATEHOUSE_SESSION_STRATEGY "${strategy}" must be "database" or "jwt".`);
  const database = await openDatabase(databaseUrl);
  const signInProviders = await demoProviders(origin);
  const auth = createGatehouse({
    database,
    origin,
    authz: demoAuthz,
    oauth: { providers: signInProviders.providers },
    // The built-in pages under /auth, with the demo's own pages in their header.
    ui: { appName: 'Gatehouse demo', links: [{ label: 'Home', href: '/' }, { label: 'Posts', href: '/posts' }] },
    // JWT mode: GATEHOUSE_SESSION_STRATEGY=jwt plus GATEHOUSE_JWT_SECRET (32+ characters, the same on every instance).
    session: { strategy },
    ...(strategy === 'jwt' ? { jwt: { secret: process.env.GATEHOUSE_JWT_SECRET, channel: process.env.GATEHOUSE_JWT_CHANNEL || undefined, signingKeys: signingKeysFromEnv() } } : {}),
    rateLimit: { redis: process.env.REDIS_URL || undefined, limits: scaledLimits(process.env.RATE_LIMIT_SCALE) },
    trustedProxies: process.env.TRUSTED_PROXIES ? process.env.TRUSTED_PROXIES.split(',').map((s) => s.trim()) : [],
    metrics: metricsPort !== null,
    ...(json === null ? {} : { logger: { warn: (message: string, details?: Record<string, unknown>) => json.warn(details ?? {}, message), error: (message: string, details?: Record<string, unknown>) => json.error(details ?? {}, message) } }),
  });
  const { applied } = await auth.migrate();
  const posts = createPostsStore(database);
  await posts.migrate();
  const app = createDemoApp(auth, posts, json === null ? {} : { accessLog: (entry) => json.info(entry, 'request') });
  // Metrics on their own port, bound to loopback: scrapers reach it, the public does not.
  const metricsServer =
    metricsPort === null ? null : serve({ fetch: (request) => (new URL(request.url).pathname === '/metrics' ? auth.metrics() : new Response('not found', { status: 404 })), port: metricsPort, hostname: '127.0.0.1' });

  const server = serve({ fetch: app.fetch, port, hostname: process.env.HOST ?? 'localhost' }, () => {
    console.log(`Gatehouse demo on ${origin}`);
    console.log(`  database: ${database.description}${applied.length ? ` (applied ${applied.join(', ')})` : ''}`);
    console.log(`  sign-in providers: ${signInProviders.description}`);
    if (metricsPort !== null) console.log(`  metrics: http://127.0.0.1:${metricsPort}/metrics`);
    console.log(`  rate limits: ${process.env.REDIS_URL ? `redis ${redactUrl(process.env.REDIS_URL)}` : 'in memory'}`);
    if (auth.jwt !== undefined) console.log(`  sessions: JWT mode (access JWT + rotating refresh token; JWKS at ${origin}/auth/jwks.json)`);
  });
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    // Graceful: stop accepting, let in-flight requests finish (at most 10 s), then close pools.
    metricsServer?.close();
    if ('closeIdleConnections' in server && typeof server.closeIdleConnections === 'function') server.closeIdleConnections();
    server.close(() => {
      void auth
        .close()
        .then(() => database.close())
        .then(() => signInProviders.devIdp?.close())
        .finally(() => process.exit(0));
    });
    setTimeout(() => process.exit(1), 10_000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigurationError ? error.message : `Gatehouse demo failed to start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
