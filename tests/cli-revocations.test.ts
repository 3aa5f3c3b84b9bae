import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGatehouse, openDatabase, type Database, type Gatehouse } from '../src/index.js';
import { loadCliConfig, withGatehouse } from '../src/cli/context.js';
import { SYSTEM_ACTOR } from '../src/users/users.js';
import { freshPostgres, hasPostgres, hasRedis, REDIS_URL } from './services.js';

/**
 * SESS-09 across processes: a server on PostgreSQL + Redis caches sessions and hears
 * revocations only through Redis. The CLI, given the same REDIS_URL, must reach it at once;
 * before, the CLI published over PostgreSQL NOTIFY, which that server does not hear, and the
 * disabled user stayed signed in until the next reload (up to 30 s).
 */
describe.runIf(hasPostgres && hasRedis)('CLI changes reach servers that listen on Redis', () => {
  let pg: Awaited<ReturnType<typeof freshPostgres>>;
  let database: Database;
  let server: Gatehouse;
  beforeAll(async () => {
    pg = await freshPostgres();
    database = await openDatabase(pg.url);
    server = createGatehouse({ database, origin: 'http://localhost:3000', rateLimit: { redis: REDIS_URL }, logger: { warn() {}, error() {} } });
    await server.migrate();
  });
  afterAll(async () => {
    await server?.close();
    await database?.close();
    await pg?.drop();
  });

  it('users disable through the CLI with REDIS_URL: the cached session is refused on the next request', async () => {
    const user = await server.users.create({ email: 'cli-disable@example.com' });
    const { headers } = await server.createSession(user.id, new Request('http://localhost:3000/', { method: 'POST' }), { method: 'test' });
    const cookie = headers.get('set-cookie')!.split(';')[0]!;
    const check = async () => (await server.handler(new Request('http://localhost:3000/auth/session', { headers: { cookie } }), { ip: '203.0.113.9' })).status;
    expect(await check()).toBe(200);
    // Give the server's Redis feed time to come up: from then on a hit is served from the cache.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await check()).toBe(200);

    const saved = process.env.REDIS_URL;
    process.env.REDIS_URL = REDIS_URL;
    try {
      const config = await loadCliConfig({ 'database-url': pg.url });
      expect(config.redis).toBe(REDIS_URL);
      await withGatehouse(config, (cli) => cli.users.setDisabled(user.id, true, SYSTEM_ACTOR));
    } finally {
      if (saved === undefined) delete process.env.REDIS_URL;
      else process.env.REDIS_URL = saved;
    }
    // Well inside the 30 s reload: only the feed can have told the server.
    const deadline = Date.now() + 1500;
    let status = await check();
    while (status === 200 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      status = await check();
    }
    expect(status).toBe(401);
  });
});
