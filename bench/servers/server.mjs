// One benchmark target as its own process: Hono on @hono/node-server, 127.0.0.1 on a free
// port, one route GET / that answers {"userId": ...} or 401. The parent (run.mjs) sends the
// load; this process only serves, so the two never share an event loop.
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { GATEHOUSE_ENTRY } from '../lib/config.mjs';

/** Each kind of check: (request) -> user id | null, for the same route. */
const CHECKS = {
  // (a) No auth at all: the cookie arrives and is ignored; the body has the same shape.
  async bare(spec) {
    return { check: () => spec.userId, close: async () => {} };
  },
  // (b) The hand-written minimal check.
  async handwritten(spec) {
    const { createHandwrittenCheck } = await import('./handwritten.mjs');
    return createHandwrittenCheck(spec.file);
  },
  // (c)/(d) Gatehouse from the built package, exactly as an application calls it.
  async gatehouse(spec) {
    const { createGatehouse } = await import(GATEHOUSE_ENTRY.href);
    const { createHonoAdapter } = await import(new URL('hono.js', new URL('./adapters/', GATEHOUSE_ENTRY)).href);
    const auth = createGatehouse({ database: spec.databaseUrl, origin: 'http://localhost:3000' });
    await auth.storage(); // open the database now rather than on the first measured request
    const gatehouse = createHonoAdapter(auth); // as a Hono app would: gatehouse/hono
    return {
      check: async (_request, c) => (await gatehouse.getSession(c))?.user.id ?? null,
      close: () => auth.close(),
    };
  },
  // (c) without the session cache: every request reads the database.
  async 'gatehouse-nocache'(spec) {
    const { createGatehouse } = await import(GATEHOUSE_ENTRY.href);
    const { createHonoAdapter } = await import(new URL('hono.js', new URL('./adapters/', GATEHOUSE_ENTRY)).href);
    const auth = createGatehouse({ database: spec.databaseUrl, origin: 'http://localhost:3000', session: { cache: false } });
    await auth.storage();
    const gatehouse = createHonoAdapter(auth);
    return {
      check: async (_request, c) => (await gatehouse.getSession(c))?.user.id ?? null,
      close: () => auth.close(),
    };
  },
  // (f) Gatehouse in JWT mode: the access JWT from its cookie (cached verification, exp and revocation per request).
  async 'gatehouse-jwt'(spec) {
    const { createGatehouse } = await import(GATEHOUSE_ENTRY.href);
    const { jwtOptions } = await import('../lib/fixtures-jwt.mjs');
    const auth = createGatehouse({ database: spec.databaseUrl, origin: 'http://localhost:3000', ...jwtOptions(spec.secret) });
    await auth.jwt.ready(); // keys and revocation feed now rather than on the first measured request
    const { createHonoAdapter } = await import(new URL('hono.js', new URL('./adapters/', GATEHOUSE_ENTRY)).href);
    const gatehouse = createHonoAdapter(auth);
    return {
      check: async (_request, c) => (await gatehouse.getSession(c))?.user.id ?? null,
      close: () => auth.close(),
    };
  },
  // (g) The naive approach: jose jwtVerify on every request.
  async 'jose-naive'(spec) {
    const { createNaiveJoseCheck } = await import('./jose-naive.mjs');
    return createNaiveJoseCheck(spec);
  },
  // (e) Better Auth with its defaults (no cookie cache), on its own SQLite database.
  async 'better-auth'(spec) {
    const { createBetterAuth } = await import('../lib/fixtures-better-auth.mjs');
    const { auth, database } = createBetterAuth(spec.file, spec.secret);
    return {
      check: async (request) => (await auth.api.getSession({ headers: request.headers }))?.user.id ?? null,
      close: async () => database.close(),
    };
  },
};

async function main() {
  const spec = JSON.parse(process.env.BENCH_SERVER ?? '{}');
  const create = CHECKS[spec.kind];
  if (create === undefined) throw new Error(`unknown server kind "${spec.kind}"`);
  const { check, close } = await create(spec);

  const app = new Hono();
  app.get('/', async (c) => {
    // Each check gets the web Request and Hono's context (on @hono/node-server the raw Cookie
    // header is readable from Node's request without building a Headers object: see cookieOf).
    const userId = await check(c.req.raw, c);
    return userId === null ? c.json({ error: 'UNAUTHENTICATED' }, 401) : c.json({ userId });
  });

  const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info) => process.send({ ready: info.port }));
  process.on('message', (message) => {
    // CPU time this process used so far: the parent turns it into CPU per request.
    if (message === 'cpu') process.send({ cpu: process.cpuUsage() });
    if (message !== 'stop') return;
    server.closeAllConnections?.();
    server.close(() => {
      // exit() (not a natural end) so --cpu-prof still writes its profile.
      void close().finally(() => process.exit(0));
    });
  });
  process.on('disconnect', () => process.exit(0));
}

main().catch((error) => {
  console.error(`bench server failed: ${error instanceof Error ? error.stack : String(error)}`);
  process.exit(1);
});
