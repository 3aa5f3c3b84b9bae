import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGatehouse, openDatabase, type Database, type Gatehouse } from '../src/index.js';
import { liveAudit, LIVE_LIMITS, type LiveResult } from '../src/code-audit/live.js';
import { createDemoApp } from '../demo/app.js';
import { demoAuthz } from '../demo/authz.js';
import { createPostsStore } from '../demo/posts.js';

interface Seen {
  method: string;
  path: string;
  cookie: string | null;
  origin: string | null;
}

function listen(fetch: (request: Request) => Response | Promise<Response>): Promise<{ server: ServerType; origin: string }> {
  return new Promise((resolve) => {
    const server = serve({ fetch, hostname: '127.0.0.1', port: 0 }, (info) => resolve({ server, origin: `http://127.0.0.1:${info.port}` }));
  });
}

const close = (server: ServerType) => new Promise<void>((resolve) => server.close(() => resolve()));
const checks = (result: LiveResult) => [...new Set(result.findings.map((f) => f.check))].sort();
const FAKE_JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMiLCJyb2xlIjoiYWRtaW4ifQ.c2lnbmF0dXJlLWJ5dGVz';

/**
 * A deliberately bad site: tokens in JSON, a token cookie without HttpOnly, CORS that reflects
 * any Origin with credentials, a sign-out that accepts cross-site POSTs, and a discovery
 * document that points its JWKS at another host.
 */
function badSite(seen: Seen[]) {
  return (request: Request): Response => {
    const url = new URL(request.url);
    seen.push({ method: request.method, path: url.pathname, cookie: request.headers.get('cookie'), origin: request.headers.get('origin') });
    const origin = request.headers.get('origin');
    const cors: Record<string, string> = origin === null ? {} : { 'access-control-allow-origin': origin, 'access-control-allow-credentials': 'true' };
    switch (`${request.method} ${url.pathname}`) {
      case 'GET /':
        return new Response('<!doctype html><title>bad</title>', { headers: { 'content-type': 'text/html' } });
      case 'GET /login':
        // gatehouse-audit-ignore cookie-not-httponly -- the deliberately bad site under test
        return new Response('<form method=post></form>', { headers: { 'content-type': 'text/html', 'set-cookie': `token=${FAKE_JWT}; Path=/; Max-Age=7776000` } });
      case 'GET /api/me':
        return Response.json({ user: { id: '123' }, access_token: FAKE_JWT }, { headers: cors });
      case 'GET /logout':
        return new Response(null, { status: 405, headers: { allow: 'POST' } });
      case 'POST /logout':
        return new Response(null, { status: 302, headers: { location: '/' } });
      case 'GET /.well-known/openid-configuration':
        return Response.json({ issuer: 'https://elsewhere.example', authorization_endpoint: `${url.origin}/authorize`, token_endpoint: `${url.origin}/token`, jwks_uri: 'https://elsewhere.example/jwks', response_types_supported: ['code', 'id_token token'] });
      default:
        return new Response('not found', { status: 404 });
    }
  };
}

describe('gatehouse audit --url', () => {
  const seen: Seen[] = [];
  let bad: { server: ServerType; origin: string };
  let demo: { server: ServerType; origin: string };
  let database: Database;
  let auth: Gatehouse;

  beforeAll(async () => {
    bad = await listen(badSite(seen));
    database = await openDatabase('sqlite::memory:');
    const mounted: { app?: { fetch: (request: Request) => Response | Promise<Response> } } = {};
    demo = await listen((request) => (mounted.app ? mounted.app.fetch(request) : new Response(null, { status: 503 })));
    auth = createGatehouse({ database, origin: demo.origin, authz: demoAuthz, logger: { warn: () => {}, error: () => {} } });
    await auth.migrate();
    const posts = createPostsStore(database);
    await posts.migrate();
    const site = createDemoApp(auth, posts);
    // Stands in for the app's own sign-in (GET /login is one of the paths the audit probes), so
    // the audit sees the Set-Cookie and headers of a real Gatehouse session.
    mounted.app = {
      async fetch(request) {
        if (new URL(request.url).pathname !== '/login') return site.fetch(request);
        const user = await auth.users.create({ email: `live-${Date.now()}@example.com`, role: 'member' });
        const { headers } = await auth.createSession(user.id, request, { method: 'test', context: { ip: '127.0.0.1' } });
        return new Response(null, { status: 204, headers });
      },
    };
  });

  afterAll(async () => {
    await Promise.all([bad, demo].filter((s) => s !== undefined).map((s) => close(s.server)));
    await auth?.close();
    await database?.close();
  });

  it('finds the bad site\'s mistakes', async () => {
    const result = await liveAudit(bad.origin, { delayMs: 0, cookie: 'token=user-session' });
    expect(checks(result)).toEqual([
      'live-cache-control',
      'live-cookie-httponly',
      'live-cookie-lifetime',
      'live-cookie-prefix',
      'live-cookie-samesite',
      'live-cookie-secure',
      'live-cors-credentials',
      'live-csp',
      'live-csrf',
      'live-openid-discovery',
      'live-token-in-body',
    ]);
    expect(result.findings.find((f) => f.check === 'live-csrf')?.message).toContain('/logout');
    expect(result.notes.join('\n')).toContain('https://elsewhere.example/jwks is on another origin; not fetched');
  });

  it('stays passive and bounded: same origin only, no cookie on the cross-site POST, at most 30 requests', () => {
    expect(seen.length).toBeGreaterThan(5);
    expect(seen.length).toBeLessThanOrEqual(LIVE_LIMITS.maxRequests);
    expect(seen.filter((s) => s.method !== 'GET').map((s) => `${s.method} ${s.path} cookie=${s.cookie}`)).toEqual(['POST /logout cookie=null']);
    const gets = seen.filter((s) => s.method === 'GET' && s.origin === null);
    expect(gets.filter((s) => !/out$/.test(s.path)).every((s) => s.cookie === 'token=user-session')).toBe(true);
    // The session is never sent to a sign-out path, not even with GET.
    expect(gets.filter((s) => /out$/.test(s.path)).map((s) => `${s.path} cookie=${s.cookie}`)).toEqual(['/logout', '/auth/logout', '/auth/sign-out', '/api/auth/signout', '/api/logout', '/signout', '/auth/signout'].map((p) => `${p} cookie=null`));
  });

  it('cannot sign the user out: an app that signs out on GET never sees the --cookie on a sign-out path', async () => {
    const sessions = new Set(['abc']);
    const received: string[] = [];
    const site = await listen((request) => {
      const { pathname } = new URL(request.url);
      const cookie = request.headers.get('cookie');
      if (cookie !== null) received.push(pathname);
      const sid = /sid=(\w+)/.exec(cookie ?? '')?.[1];
      // Sign-out on GET, like many apps (and every one of the probed sign-out paths).
      if (/(log|sign)-?out$/.test(pathname) && sid !== undefined) sessions.delete(sid);
      return new Response('<!doctype html>', { headers: { 'content-type': 'text/html', 'content-security-policy': "default-src 'self'" } });
    });
    try {
      await liveAudit(`${site.origin}/api/auth/signout`, { delayMs: 0, cookie: 'sid=abc' });
      expect(sessions.has('abc')).toBe(true);
      expect(received.length).toBeGreaterThan(5);
      expect(received.filter((p) => /out$/.test(p))).toEqual([]);
    } finally {
      await close(site.server);
    }
  });

  it('reads a same-origin discovery document and JWKS: weak and private keys are findings', async () => {
    const { generateKeyPairSync } = await import('node:crypto');
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'jwk' });
    const good = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
    const idp = await listen((request) => {
      const { origin, pathname } = new URL(request.url);
      if (pathname === '/.well-known/openid-configuration') {
        return Response.json({ issuer: origin, authorization_endpoint: `${origin}/authorize`, token_endpoint: `${origin}/token`, jwks_uri: `${origin}/jwks`, code_challenge_methods_supported: ['S256'], id_token_signing_alg_values_supported: ['ES256'] });
      }
      if (pathname === '/jwks') return Response.json({ keys: [{ ...small, kid: 'small' }, { ...good, kid: 'leaked' }, { kty: 'oct', k: 'c2VjcmV0', kid: 'hmac' }] });
      return new Response('<!doctype html>', { headers: { 'content-type': 'text/html', 'content-security-policy': "default-src 'self'" } });
    });
    try {
      const result = await liveAudit(idp.origin, { delayMs: 0 });
      expect(checks(result)).toEqual(['live-jwks']);
      expect(result.findings.map((f) => f.message).sort()).toEqual([
        'Key hmac includes private key material.',
        'Key hmac is a symmetric (oct) key: publishing it lets anyone sign tokens.',
        'Key leaked includes private key material.',
        'RSA key small is about 1024 bits; use at least 2048.',
      ]);
    } finally {
      await close(idp.server);
    }
  });

  it('reads at most 256 KiB of a body and then closes the connection (a huge body does not fill memory)', async () => {
    const total = 512 * 1024 * 1024;
    const chunk = Buffer.alloc(64 * 1024, 'a');
    let sent = 0;
    let closedEarly = false;
    const server = createServer((request, response) => {
      if (request.url !== '/') {
        response.writeHead(404).end();
        return;
      }
      response.writeHead(200, { 'content-type': 'text/html', 'content-length': String(total) });
      response.on('close', () => {
        closedEarly = sent < total;
      });
      const pump = () => {
        while (sent < total && !response.destroyed) {
          sent += chunk.length;
          if (!response.write(chunk)) return void response.once('drain', pump);
        }
        if (sent >= total) response.end();
      };
      pump();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const result = await liveAudit(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, { delayMs: 0, maxRequests: 2 });
      expect(result.requests).toBe(2);
      await new Promise((r) => setTimeout(r, 100));
      expect(closedEarly).toBe(true);
      expect(sent).toBeLessThan(32 * 1024 * 1024);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('a malformed discovery document is a finding, not the end of the audit', async () => {
    const site = await listen((request) => {
      const { origin, pathname } = new URL(request.url);
      if (pathname === '/.well-known/openid-configuration') {
        return Response.json({ issuer: 'not a url', authorization_endpoint: `${origin}/authorize`, token_endpoint: `${origin}/token`, jwks_uri: 'http://[::1', code_challenge_methods_supported: ['S256'] });
      }
      return new Response('<!doctype html>', { headers: { 'content-type': 'text/html' } });
    });
    try {
      const result = await liveAudit(site.origin, { delayMs: 0 });
      expect(checks(result)).toEqual(['live-csp', 'live-openid-discovery']);
      expect(result.findings.filter((f) => f.check === 'live-openid-discovery').map((f) => f.message).sort()).toEqual([
        'issuer "not a url" is not an absolute URL (it must be the URL the document was fetched under).',
        'jwks_uri is not https: http://[::1',
      ]);
    } finally {
      await close(site.server);
    }
  });

  it('keeps the same problem at different URLs apart (one finding per check, URL and message)', async () => {
    const site = await listen((request) => {
      const { pathname } = new URL(request.url);
      const headers: Record<string, string> = { 'content-type': 'text/html', 'content-security-policy': "default-src 'self'", 'cache-control': 'no-store' };
      // gatehouse-audit-ignore cookie-not-httponly -- the deliberately bad site under test
      if (pathname === '/login' || pathname === '/signin') headers['set-cookie'] = '__Host-session=abc; Path=/; Secure; SameSite=Lax';
      return new Response('<!doctype html>', { headers });
    });
    try {
      const result = await liveAudit(site.origin, { delayMs: 0 });
      expect(result.findings.map((f) => `${f.check} ${new URL(f.url).pathname}`)).toEqual(['live-cookie-httponly /login', 'live-cookie-httponly /signin']);
    } finally {
      await close(site.server);
    }
  });

  it('respects a smaller request budget', async () => {
    const before = seen.length;
    const result = await liveAudit(bad.origin, { delayMs: 0, maxRequests: 3 });
    expect(result.requests).toBe(3);
    expect(seen.length - before).toBe(3);
  });

  it('audits the Gatehouse demo clean, including the session cookie it sets', async () => {
    const result = await liveAudit(demo.origin, { delayMs: 0 });
    expect(result.findings).toEqual([]);
    expect(result.notes).toContain('Cross-site POST to /auth/sign-out: refused with 403.');
  });

  it('flags the same demo session cookie once its HttpOnly is stripped (the check can fail)', async () => {
    const stripped = await listen(async (request) => {
      const response = await fetch(new URL(new URL(request.url).pathname, demo.origin), { redirect: 'manual' });
      const headers = new Headers(response.headers);
      headers.delete('set-cookie');
      for (const c of response.headers.getSetCookie()) headers.append('set-cookie', c.replace(/; HttpOnly/i, ''));
      const body = [204, 304].includes(response.status) ? null : await response.arrayBuffer();
      return new Response(body, { status: response.status, headers });
    });
    try {
      const result = await liveAudit(stripped.origin, { delayMs: 0 });
      expect(checks(result)).toEqual(['live-cookie-httponly']);
    } finally {
      await close(stripped.server);
    }
  });
});
