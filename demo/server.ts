import { serve } from '@hono/node-server';
import type { JWK } from 'jose';
import { createGatehouse, openDatabase, redactUrl, ConfigurationError, DEFAULT_DATABASE_URL } from 'gatehouse';
import { demoAuthz } from './authz.js';
import { createDemoApp } from './app.js';
import { createPostsStore } from './posts.js';

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
  const strategy = process.env.GATEHOUSE_SESSION_STRATEGY ?? 'database';
  if (strategy !== 'database' && strategy !== 'jwt') throw new ConfigurationError(`GATEHOUSE_SESSION_STRATEGY "${strategy}" must be "database" or "jwt".`);
  const database = await openDatabase(databaseUrl);
  const auth = createGatehouse({
    database,
    origin,
    authz: demoAuthz,
    // JWT mode: GATEHOUSE_SESSION_STRATEGY=jwt plus GATEHOUSE_JWT_SECRET (32+ characters, the same on every instance).
    session: { strategy },
    ...(strategy === 'jwt' ? { jwt: { secret: process.env.GATEHOUSE_JWT_SECRET, channel: process.env.GATEHOUSE_JWT_CHANNEL || undefined, signingKeys: signingKeysFromEnv() } } : {}),
    rateLimit: { redis: process.env.REDIS_URL || undefined },
    trustedProxies: process.env.TRUSTED_PROXIES ? process.env.TRUSTED_PROXIES.split(',').map((s) => s.trim()) : [],
  });
  const { applied } = await auth.migrate();
  const posts = createPostsStore(database);
  await posts.migrate();
  const app = createDemoApp(auth, posts);

  const server = serve({ fetch: app.fetch, port, hostname: process.env.HOST ?? 'localhost' }, () => {
    console.log(`Gatehouse demo on ${origin}`);
    console.log(`  database: ${database.description}${applied.length ? ` (applied ${applied.join(', ')})` : ''}`);
    console.log(`  rate limits: ${process.env.REDIS_URL ? `redis ${redactUrl(process.env.REDIS_URL)}` : 'in memory'}`);
    if (auth.jwt !== undefined) console.log(`  sessions: JWT mode (access JWT + rotating refresh token; JWKS at ${origin}/auth/jwks.json)`);
  });
  const stop = () => {
    server.close(() => {
      void auth.close().then(() => database.close()).finally(() => process.exit(0));
    });
    setTimeout(() => process.exit(0), 5000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigurationError ? error.message : `Gatehouse demo failed to start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
