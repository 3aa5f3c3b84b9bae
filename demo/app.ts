import { Hono, type Context } from 'hono';
import { getConnInfo } from '@hono/node-server/conninfo';
import { z } from 'zod';
import { AuthError, NotFoundError, parseInput, readJsonBody, jsonResponse, type Gatehouse } from 'gatehouse';
import type { PostsStore } from './posts.js';
import { demoScript, homePage, postsPage } from './pages.js';

const newPost = z.object({ title: z.string().trim().min(1).max(120), body: z.string().trim().min(1).max(2000) }).strict();

function clientIp(c: Context<DemoEnv>): string | undefined {
  try {
    return getConnInfo(c).remote.address;
  } catch {
    return undefined;
  }
}

/**
 * The demo app: Gatehouse mounted at /auth, plus a posts board whose routes are guarded
 * by permissions. It uses only the package's public API, the way your app would.
 */
/** One line per request for the access log. Only these fields: never headers, bodies or query strings. */
export interface AccessLogEntry {
  requestId: string;
  method: string;
  /** The path WITHOUT its query: an OAuth callback's query carries the code and state. */
  path: string;
  status: number;
  ms: number;
  ip: string | undefined;
}

export interface DemoOptions {
  /** Called once per request, after the response is ready. */
  accessLog?: (entry: AccessLogEntry) => void;
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** The request id travels from the access-log middleware to Gatehouse, which adds it to what it logs. */
type DemoEnv = { Variables: { requestId: string | undefined } };

export function createDemoApp(auth: Gatehouse, posts: PostsStore, options: DemoOptions = {}): Hono<DemoEnv> {
  const app = new Hono<DemoEnv>();

  // Request ids: the caller's X-Request-Id when it looks like one (a proxy's), else a new one.
  if (options.accessLog !== undefined) {
    const log = options.accessLog;
    app.use('*', async (c, next) => {
      const started = performance.now();
      const given = c.req.header('x-request-id');
      const requestId = given !== undefined && REQUEST_ID.test(given) ? given : crypto.randomUUID();
      c.set('requestId', requestId);
      await next();
      c.header('x-request-id', requestId);
      log({ requestId, method: c.req.method, path: new URL(c.req.url).pathname, status: c.res.status, ms: Math.round((performance.now() - started) * 10) / 10, ip: clientIp(c) });
    });
  }

  app.use('*', async (c, next) => {
    await next();
    c.header('x-content-type-options', 'nosniff');
    c.header('referrer-policy', 'same-origin');
    c.header('x-frame-options', 'DENY');
    // Pages show who is signed in: no shared or back-button cache may keep them.
    if (!c.res.headers.has('cache-control')) c.header('cache-control', 'no-store');
    // The built-in pages under /auth bring their own (stricter) policy; the demo's pages get this one.
    // Scripts: files from this origin only. img-src allows data: for the empty favicon.
    if (!c.res.headers.has('content-security-policy')) {
      c.header(
        'content-security-policy',
        "default-src 'self'; script-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
      );
    }
  });

  // The whole auth API: one line.
  app.all('/auth/*', (c) => auth.handler(c.req.raw, { ip: clientIp(c), requestId: c.get('requestId') }));

  app.onError((error, c) => auth.errorResponse(error, { requestId: c.get('requestId') }));

  // Your own cookie-authenticated API: check origin on unsafe methods, then the permission.
  app.use('/api/*', async (c, next) => {
    auth.verifyOrigin(c.req.raw);
    await auth.rateLimit(c.req.raw, 'session', { ip: clientIp(c) });
    await next();
  });

  app.get('/api/posts', async (c) => {
    await auth.requirePermission(c.req.raw, 'posts:read');
    return jsonResponse({ posts: await posts.list() });
  });

  app.post('/api/posts', async (c) => {
    const { user } = await auth.requirePermission(c.req.raw, 'posts:write');
    const input = parseInput(newPost, await readJsonBody(c.req.raw, 16 * 1024));
    return jsonResponse({ post: await posts.create(user.id, input.title, input.body) }, 201);
  });

  app.delete('/api/posts/:id', async (c) => {
    await auth.requirePermission(c.req.raw, 'posts:delete');
    const id = Number(c.req.param('id'));
    if (!Number.isSafeInteger(id) || id <= 0 || !(await posts.remove(id))) throw new NotFoundError('No such post.');
    return c.body(null, 204);
  });

  // JWT mode: a page whose access cookie expired refreshes once (the refresh cookie only
  // travels to /auth/token/refresh, so the page's own request cannot), then reloads.
  app.get('/assets/refresh.js', (c) =>
    c.body("fetch('/auth/token/refresh', { method: 'POST', credentials: 'same-origin' }).finally(() => location.reload());", 200, {
      'content-type': 'text/javascript; charset=utf-8',
    }),
  );
  app.use('*', async (c, next) => {
    const path = new URL(c.req.url).pathname;
    if (auth.jwt !== undefined && c.req.method === 'GET' && !/^\/(auth|api|assets)\//.test(path)) {
      const expired = await auth.requireSession(c.req.raw).then(
        () => false,
        (error: unknown) => error instanceof AuthError && error.code === 'ACCESS_TOKEN_EXPIRED',
      );
      if (expired) return c.html('<!doctype html><title>Refreshing…</title><script type="module" src="/assets/refresh.js"></script><p>Refreshing your session…</p>', 401);
    }
    await next();
  });

  app.get('/assets/demo.js', (c) => c.body(demoScript, 200, { 'content-type': 'text/javascript; charset=utf-8' }));

  app.get('/', async (c) => c.html(homePage(await auth.getSession(c.req.raw))));

  app.get('/posts', async (c) => {
    const session = await auth.getSession(c.req.raw);
    const role = session?.user.role ?? '';
    const canRead = session !== null && auth.authz.can(role, 'posts:read');
    return c.html(
      postsPage(session, canRead ? await posts.list() : null, {
        write: auth.authz.can(role, 'posts:write'),
        remove: auth.authz.can(role, 'posts:delete'),
      }),
      session === null ? 401 : 200,
    );
  });

  // The sign-in, sign-up, recovery and account pages are Gatehouse's built-in pages under /auth.
  // The short paths stay as redirects (bookmarks, the README, OAuth error redirects).
  const builtIn = { '/sign-in': '/auth/sign-in', '/sign-up': '/auth/sign-up', '/recover': '/auth/recover', '/account': '/auth/account', '/account/sessions': '/auth/account#devices' };
  for (const [from, to] of Object.entries(builtIn)) {
    app.get(from, (c) => {
      const query = new URL(c.req.url).search;
      return c.redirect(to.includes('#') ? to : `${to}${query}`, 302);
    });
  }

  // Liveness: the process answers. Readiness: it can serve (database, migrations, Redis).
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', async (c) => {
    const report = await auth.readiness();
    return c.json(report, report.ready ? 200 : 503);
  });

  app.notFound(() => auth.errorResponse(new NotFoundError()));
  return app;
}

