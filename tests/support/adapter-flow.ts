// The flow every framework adapter test runs against a real server on loopback: sign in with
// the dev IdP through the adapter, a protected route, sign out, the protected route again.
import { expect } from 'vitest';
import { createGatehouse, oidcProvider, openDatabase, SESSION_COOKIE, type Database, type Gatehouse } from '../../src/index.js';
import { startDevIdp, type DevIdp } from '../../src/dev-idp/dev-idp.js';
import { testAuthz } from '../helpers.js';
import { Agent, authorize } from './dev-idp-agent.js';

/**
 * What each adapter's app must serve (besides the auth API at /auth/*):
 * - GET /api/me: `requirePermission('posts:read')`, answers `{ email }` (members have it);
 * - GET /api/drafts: `requirePermission('posts:write')` (members lack it);
 * - POST /api/posts: `verifyOrigin`, then `requirePermission('posts:read')`, answers 201
 *   `{ title }` from the JSON body the app parsed itself (the guards leave the body unread).
 */
export interface AdapterWorld {
  auth: Gatehouse;
  database: Database;
  idp: DevIdp;
  origin: string;
  close(): Promise<void>;
}

/** Starts the dev IdP and a Gatehouse whose origin is the app's (`http://localhost:<port>`). */
export async function createAdapterWorld(port: number): Promise<AdapterWorld> {
  const origin = `http://localhost:${port}`;
  const idp = await startDevIdp({ clients: [{ clientId: 'adapter-test', redirectUris: [`${origin}/auth/oauth/dev/callback`] }] });
  const database = await openDatabase('sqlite::memory:');
  const auth = createGatehouse({
    database,
    origin,
    authz: testAuthz,
    oauth: { providers: [oidcProvider({ id: 'dev', name: 'Dev IdP', issuer: idp.issuer, clientId: 'adapter-test', idTokenAlg: 'ES256' })] },
    logger: { warn: () => {}, error: () => {} },
  });
  await auth.migrate();
  return {
    auth,
    database,
    idp,
    origin,
    async close() {
      await auth.close();
      await database.close();
      await idp.close();
    },
  };
}

const sameOrigin = (origin: string, agent: Agent, json?: unknown): RequestInit => ({
  headers: {
    origin,
    'sec-fetch-site': 'same-origin',
    cookie: [...agent.cookies].map(([k, v]) => `${k}=${v}`).join('; '),
    ...(json === undefined ? {} : { 'content-type': 'application/json' }),
  },
  body: json === undefined ? undefined : JSON.stringify(json),
});

/** Runs sign-in -> protected route -> sign-out -> protected route, asserting status, cookies and headers. */
export async function runAdapterFlow(world: AdapterWorld): Promise<void> {
  const { origin } = world;
  const agent = new Agent();
  const url = (path: string) => new URL(path, origin);

  // Signed out: the protected route answers Gatehouse's JSON 401.
  const before = await fetch(url('/api/me'));
  expect(before.status).toBe(401);
  expect(await before.json()).toEqual({ error: { code: 'UNAUTHENTICATED', message: expect.any(String) } });

  // A JSON body streams through the adapter to the handler.
  const options = await fetch(url('/auth/passkeys/login/options'), { method: 'POST', ...sameOrigin(origin, agent, {}) });
  expect(options.status).toBe(200);
  expect(await options.json()).toMatchObject({ challenge: expect.any(String) });

  // Sign in with the dev IdP: the start and the callback go through the adapter.
  const { callback } = await authorize(agent, url('/auth/oauth/dev?returnTo=/dashboard'), { sub: 'dev-alice' }, `${origin}/auth/oauth/dev/callback`);
  const landed = await agent.request(callback);
  expect(landed.status).toBe(302);
  expect(landed.headers.get('location')).toBe('/dashboard');
  expect(landed.headers.get('cache-control')).toBe('no-store');
  // Two Set-Cookie headers (the session, and the spent OAuth transaction cleared), each intact.
  const cookies = landed.headers.getSetCookie();
  expect(cookies.length).toBeGreaterThanOrEqual(2);
  const session = cookies.find((c) => c.startsWith(`${SESSION_COOKIE}=`));
  expect(session).toMatch(/; Path=\/; Max-Age=\d+; HttpOnly; Secure; SameSite=Lax$/);
  expect(cookies.some((c) => c.startsWith('__Host-gatehouse-oauth=') && /Max-Age=0/.test(c))).toBe(true);
  expect(agent.cookies.has(SESSION_COOKIE)).toBe(true);

  // The session row carries the socket address the adapter passed as { ip }.
  const rows = await world.database.kysely.selectFrom('gatehouse_sessions').select(['ip']).execute();
  expect(rows).toHaveLength(1);
  expect(rows[0]!.ip).toMatch(/^(127\.0\.0\.1|::1)$/);

  // Protected route: 200 with the permission...
  const me = await fetch(url('/api/me'), sameOrigin(origin, agent));
  expect(me.status).toBe(200);
  expect(await me.json()).toEqual({ email: 'alice@example.com' });
  // ...403 without it (members may read, not write)...
  const drafts = await fetch(url('/api/drafts'), sameOrigin(origin, agent));
  expect(drafts.status).toBe(403);
  expect(await drafts.json()).toMatchObject({ error: { code: 'FORBIDDEN' } });
  // ...and after the guards the app still reads its own body.
  const write = await fetch(url('/api/posts'), { method: 'POST', ...sameOrigin(origin, agent, { title: 'Hello' }) });
  expect(write.status).toBe(201);
  expect(await write.json()).toEqual({ title: 'Hello' });
  // A cross-site write is refused before the permission is looked at.
  const init = sameOrigin(origin, agent, { title: 'Hello' });
  const forged = await fetch(url('/api/posts'), { ...init, method: 'POST', headers: { ...(init.headers as Record<string, string>), origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' } });
  expect(forged.status).toBe(403);
  expect(await forged.json()).toMatchObject({ error: { code: 'CSRF_REFUSED' } });

  // Sign out through the adapter: 204, the cookie cleared.
  const cookieBefore = sameOrigin(origin, agent);
  const out = await fetch(url('/auth/sign-out'), { method: 'POST', ...cookieBefore });
  expect(out.status).toBe(204);
  expect(out.headers.get('cache-control')).toBe('no-store');
  expect(out.headers.getSetCookie()).toEqual([`${SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax`]);

  // The old cookie no longer opens the protected route.
  const after = await fetch(url('/api/me'), cookieBefore);
  expect(after.status).toBe(401);
  expect(await after.json()).toMatchObject({ error: { code: 'UNAUTHENTICATED' } });

  // Unknown auth paths are Gatehouse's 404; paths outside /auth are the app's.
  expect((await fetch(url('/auth/nope'))).status).toBe(404);
}
