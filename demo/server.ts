import { Server, type ServerResponse } from 'node:http';
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

/** SHUTDOWN_TIMEOUT_SECONDS: how long SIGTERM waits for in-flight requests before exiting with status 1 (default 10). */
function shutdownTimeoutMs(raw: string | undefined): number {
  if (raw === undefined || raw === '') return 10_000;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 600) throw new ConfigurationError(`SHUTDOWN_TIMEOUT_SECONDS "${raw}" must be a number of seconds above 0, at most 600.`);
  return seconds * 1000;
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
  const shutdownTimeout = shutdownTimeoutMs(process.env.SHUTDOWN_TIMEOUT_SECONDS);
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
  if (!(server instanceof Server)) throw new Error('the demo expects an HTTP/1.1 server');
  // A port in use (or not ours to bind) arrives as an 'error' event, which would otherwise crash
  // with a stack trace after the migrations ran: say what to change instead.
  const listenFailed = (what: string, envName: string, portNumber: number) => (error: NodeJS.ErrnoException) => {
    const reason = error.code === 'EADDRINUSE' ? `port ${portNumber} is in use` : error.code === 'EACCES' ? `port ${portNumber} needs more privileges` : error.message;
    console.error(`Gatehouse demo: cannot serve ${what}: ${reason}. Set ${envName} to a free port.`);
    process.exit(1);
  };
  server.on('error', listenFailed('the app', 'PORT', port));
  if (metricsServer !== null && metricsPort !== null) metricsServer.on('error', listenFailed('metrics', 'METRICS_PORT', metricsPort));
  let stopping = false;
  // Responses still to be written, so a shutdown can make each one the last on its connection.
  const inFlight = new Set<ServerResponse>();
  const lastOnItsConnection = (response: ServerResponse) => {
    if (!response.headersSent) response.setHeader('connection', 'close');
  };
  server.on('request', (_request, response: ServerResponse) => {
    inFlight.add(response);
    response.once('close', () => inFlight.delete(response));
    // A keep-alive connection that was busy at SIGTERM closes once its response is out, not after the keep-alive timeout.
    response.once('finish', () => {
      if (stopping) server.closeIdleConnections();
    });
    if (stopping) lastOnItsConnection(response);
  });
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    // Graceful: stop accepting (the listening socket closes now: new connections are refused),
    // close idle keep-alive connections, let in-flight requests finish, each telling its client
    // the connection closes, then close the pools. The process then ends by itself, with status
    // 0, because nothing is left open; a request, pool or timer still open at the bound ends it
    // with status 1 instead.
    console.log(`Gatehouse demo: ${signal}, finishing ${inFlight.size} in-flight request(s), then closing pools`);
    if (metricsServer instanceof Server) metricsServer.closeAllConnections();
    metricsServer?.close();
    for (const response of inFlight) lastOnItsConnection(response);
    server.close(() => {
      void auth
        .close()
        .then(() => database.close())
        .then(() => signInProviders.devIdp?.close())
        .then(
          () => console.log('Gatehouse demo: stopped'),
          (error: unknown) => {
            console.error(`Gatehouse demo: closing failed: ${error instanceof Error ? error.message : String(error)}`);
            process.exit(1);
          },
        );
    });
    server.closeIdleConnections();
    setTimeout(() => {
      const open = inFlight.size > 0 ? `${inFlight.size} request(s) still in flight` : 'a connection, pool or timer still open';
      console.error(`Gatehouse demo: ${open} after ${shutdownTimeout / 1000} s; exiting with status 1`);
      process.exit(1);
    }, shutdownTimeout).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigurationError ? error.message : `Gatehouse demo failed to start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
