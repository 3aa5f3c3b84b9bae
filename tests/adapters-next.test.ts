import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { JSONWebKeySet } from 'jose';
import { verifyAccessToken } from 'gatehouse/verify';
import { getJwtInstance, jwtSignIn } from './jwt-helpers.js';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createNextAuth, routeHandlers } from 'gatehouse/next';
import { createAuthMiddleware } from 'gatehouse/next/middleware';
import { SESSION_COOKIE } from '../src/index.js';
import { ORIGIN, getTestInstance, type TestInstance } from './helpers.js';

/**
 * gatehouse/next without Next: the route handlers and the session helpers with injected
 * headers, and the edge-safe middleware. The real thing (next build, next start, Chromium) is
 * tests/nextjs-example.test.ts.
 */
let t: TestInstance;
beforeEach(async () => {
  t = await getTestInstance();
});
afterEach(async () => {
  await t.close();
});

const headersOf = (init: Record<string, string>) => () => Promise.resolve(new Headers(init));

describe('gatehouse/next route handlers', () => {
  it('export GET, POST, PATCH and DELETE that all run the Gatehouse handler', async () => {
    const handlers = routeHandlers(t.auth);
    expect(Object.keys(handlers).sort()).toEqual(['DELETE', 'GET', 'PATCH', 'POST']);
    const { cookie } = await t.signIn('ada@example.com');
    const res = await handlers.GET(new Request(`${ORIGIN}/auth/session`, { headers: { cookie } }));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ user: { email: 'ada@example.com' } });
    const out = await handlers.POST(new Request(`${ORIGIN}/auth/sign-out`, { method: 'POST', headers: { cookie, 'sec-fetch-site': 'same-origin' } }));
    expect(out.status).toBe(204);
    expect(out.headers.getSetCookie()).toEqual([`${SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax`]);
    expect((await handlers.GET(new Request(`${ORIGIN}/auth/session`, { headers: { cookie } }))).status).toBe(401);
  });

  it('pass the IP from the ip option, and none by default (no header is trusted)', async () => {
    const { cookie } = await t.signIn('ada@example.com');
    const seen: (string | undefined)[] = [];
    const original = t.auth.handler;
    const spy = { ...t.auth, handler: (request: Request, context?: { ip?: string }) => (seen.push(context?.ip), original(request, context)) };
    const request = () => new Request(`${ORIGIN}/auth/session`, { headers: { cookie, 'x-forwarded-for': '203.0.113.66', 'x-real-ip': '198.51.100.5' } });
    await routeHandlers(spy).GET(request());
    await routeHandlers(spy, { ip: (r) => r.headers.get('x-real-ip') ?? undefined }).GET(request());
    expect(seen).toEqual([undefined, '198.51.100.5']);
  });

  it('warn in production when no ip option is given (every client would share one rate-limit bucket)', () => {
    const warnings: string[] = [];
    const logged = { ...t.auth, config: { ...t.auth.config, logger: { warn: (message: string) => warnings.push(message), error() {} } } };
    try {
      vi.stubEnv('NODE_ENV', 'production');
      routeHandlers(logged);
      routeHandlers(logged, { ip: (r) => r.headers.get('x-real-ip') ?? undefined });
      vi.stubEnv('NODE_ENV', 'development');
      routeHandlers(logged);
    } finally {
      vi.unstubAllEnvs();
    }
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/no `ip` option.*every client shares one rate-limit bucket.*routeHandlers\(auth, \{ ip:/);
  });
});

describe('gatehouse/next session helpers', () => {
  it('getSession reads the cookie from the request headers; null when signed out', async () => {
    const { cookie } = await t.signIn('ada@example.com');
    expect((await createNextAuth(t.auth, { headers: headersOf({ cookie }) }).getSession())?.user.email).toBe('ada@example.com');
    expect(await createNextAuth(t.auth, { headers: headersOf({}) }).getSession()).toBeNull();
  });

  it('requirePermission: 401 signed out, 403 without the permission, the session with it', async () => {
    const member = await t.signIn('ada@example.com');
    const editor = await t.signIn('eve@example.com', { role: 'editor' });
    await expect(createNextAuth(t.auth, { headers: headersOf({}) }).requirePermission('posts:read')).rejects.toMatchObject({ code: 'UNAUTHENTICATED', status: 401 });
    await expect(createNextAuth(t.auth, { headers: headersOf({ cookie: member.cookie }) }).requirePermission('posts:write')).rejects.toMatchObject({ code: 'FORBIDDEN', status: 403 });
    const result = await createNextAuth(t.auth, { headers: headersOf({ cookie: editor.cookie }) }).requirePermission('posts:write');
    expect(result.user.email).toBe('eve@example.com');
  });

  it('verifyOrigin checks a server action against the configured origin, not the Host', async () => {
    const check = (init: Record<string, string>) => createNextAuth(t.auth, { headers: headersOf(init) }).verifyOrigin();
    await expect(check({ origin: ORIGIN, 'sec-fetch-site': 'same-origin', host: 'localhost:3000' })).resolves.toBeUndefined();
    // Host and Origin agree (so a Host-based check would pass), but it is not our origin.
    await expect(check({ origin: 'https://evil.example', 'sec-fetch-site': 'cross-site', host: 'evil.example' })).rejects.toMatchObject({ code: 'CSRF_REFUSED' });
  });

  it('without Next installed and no headers option, says what is missing', async () => {
    await expect(createNextAuth(t.auth).getSession()).rejects.toThrow(/gatehouse\/next needs the `next` package/);
  });
});

describe('gatehouse/next/middleware', () => {
  const at = (path: string, cookie?: string) => new Request(`https://app.example.com${path}`, { headers: cookie === undefined ? {} : { cookie } });

  it('database mode: redirects a protected path without the session cookie to sign-in, with the page to return to', async () => {
    const gate = createAuthMiddleware({ protect: ['/dashboard', '/account/'] });
    const res = await gate(at('/dashboard/reports?range=7d'));
    expect(res?.status).toBe(307);
    expect(res?.headers.get('location')).toBe('https://app.example.com/sign-in?next=%2Fdashboard%2Freports%3Frange%3D7d');
    expect(res?.headers.get('cache-control')).toBe('no-store');
    expect((await gate(at('/account')))?.status).toBe(307);
    expect(await gate(at('/dashboard', `${SESSION_COOKIE}=abc.def`))).toBeUndefined();
    // Only the exact cookie name counts, and an empty value is no cookie.
    expect((await gate(at('/dashboard', `x${SESSION_COOKIE}=abc`)))?.status).toBe(307);
    expect((await gate(at('/dashboard', `${SESSION_COOKIE}=`)))?.status).toBe(307);
    // Not protected: /dashboarding is not under /dashboard; public pages pass.
    expect(await gate(at('/dashboarding'))).toBeUndefined();
    expect(await gate(at('/'))).toBeUndefined();
  });

  it('JWT mode: the access cookie must pass verify(); a session cookie alone does not', async () => {
    const verified: string[] = [];
    const gate = createAuthMiddleware({
      protect: (path) => path.startsWith('/app'),
      signInPath: '/login',
      verify: async (token) => {
        verified.push(token);
        if (token !== 'good') throw new Error('bad signature');
        return { sub: 'u1' };
      },
    });
    expect(await gate(at('/app', '__Host-gatehouse-access=good'))).toBeUndefined();
    expect((await gate(at('/app', '__Host-gatehouse-access=forged')))?.headers.get('location')).toBe('https://app.example.com/login?next=%2Fapp');
    expect((await gate(at('/app', `${SESSION_COOKIE}=abc.def`)))?.status).toBe(307);
    expect(verified).toEqual(['good', 'forged']);
  });

  it('JWT mode with the real verifier: gatehouse/verify checks the access cookie against the JWKS', async () => {
    const jwt = await getJwtInstance();
    try {
      const jwks = (await (await jwt.request('/auth/jwks.json')).json()) as JSONWebKeySet;
      const gate = createAuthMiddleware({
        protect: ['/app'],
        verify: (token) => verifyAccessToken(token, { issuer: ORIGIN, audience: ORIGIN, jwks, now: () => jwt.clock.now }),
      });
      const s = await jwtSignIn(jwt, 'edge@example.com');
      expect(await gate(at('/app', s.cookie))).toBeUndefined();
      // A token with one flipped signature character, and an expired one, are sent to sign-in.
      const [h, p, sig] = s.access.split('.');
      const flipped = `${h}.${p}.${sig!.startsWith('A') ? 'B' : 'A'}${sig!.slice(1)}`;
      expect((await gate(at('/app', `__Host-gatehouse-access=${flipped}`)))?.status).toBe(307);
      jwt.clock.advance(16 * 60 * 1000);
      expect((await gate(at('/app', s.cookie)))?.headers.get('location')).toBe('https://app.example.com/sign-in?next=%2Fapp');
    } finally {
      await jwt.close();
    }
  });

  it('gatehouse/verify is edge-safe: its whole import graph has no node:* module and no database driver', () => {
    const seen = new Set<string>();
    const bare = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const source = readFileSync(file, 'utf8');
      // Type-only imports are erased by the compiler; only value imports reach the bundle.
      for (const [, spec] of source.matchAll(/^import\s+(?!type\s)[^;]*?from\s+'([^']+)'/gms)) {
        if (spec!.startsWith('.')) visit(join(dirname(file), spec!.replace(/\.js$/, '.ts')));
        else bare.add(spec!);
      }
      expect(source, file).not.toMatch(/\brequire\(|\bimport\(/);
    };
    visit(fileURLToPath(new URL('../src/jwt/verify-access-token.ts', import.meta.url)));
    expect([...bare].sort()).toEqual(['jose', 'zod']);
    expect(seen.size).toBeGreaterThanOrEqual(4); // the file, access-token, config/jwt, errors
  });

  it('is edge-safe: the module imports nothing (no node:*, no database, no other Gatehouse file)', () => {
    const source = readFileSync(new URL('../src/adapters/next/middleware.ts', import.meta.url), 'utf8');
    expect(source).not.toMatch(/^\s*import\s/m);
    expect(source).not.toMatch(/\bimport\(|\brequire\(|process\.|Buffer\b/);
  });
});
