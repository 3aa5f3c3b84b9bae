import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExpressAdapter } from 'gatehouse/express';
import { SESSION_COOKIE } from 'gatehouse';
import { createAdapterWorld, runAdapterFlow, type AdapterWorld } from './support/adapter-flow.js';

/** gatehouse/express mounted in a real Express 5 app: the shared adapter flow, plus Express specifics. */
let world: AdapterWorld;
let server: Server;
let app: express.Express | undefined;

beforeAll(async () => {
  server = createServer((req, res) => (app ? app(req, res) : res.writeHead(503).end()));
  await new Promise<void>((resolve) => server.listen(0, 'localhost', resolve));
  world = await createAdapterWorld((server.address() as AddressInfo).port);
  const gatehouse = createExpressAdapter(world.auth);
  const e = express();
  e.use(gatehouse.handler); // before express.json(): Gatehouse reads its own bodies
  e.use(express.json());
  e.get('/api/me', gatehouse.requirePermission('posts:read'), (_req, res) => {
    res.json({ email: res.locals.gatehouse?.user.email });
  });
  e.get('/api/drafts', gatehouse.requirePermission('posts:write'), (_req, res) => {
    res.json({ drafts: [] });
  });
  e.post('/api/posts', gatehouse.verifyOrigin(), gatehouse.requirePermission('posts:read'), (req, res) => {
    const body: unknown = req.body;
    res.status(201).json({ title: typeof body === 'object' && body !== null && 'title' in body ? body.title : null });
  });
  e.get('/api/whoami', async (req, res) => {
    res.json({ signedIn: (await gatehouse.getSession(req)) !== null });
  });
  e.get('/api/posts/:id', gatehouse.requirePermission('posts:read'), (req, res) => {
    res.json({ id: req.params.id });
  });
  // An upstream API client's error, e.g. a payment provider refusing the SERVER's key.
  e.get('/api/upstream', () => {
    throw Object.assign(new Error('Request failed with status code 401'), { status: 401, statusCode: 401 });
  });
  e.use(gatehouse.errorHandler);
  app = e;
});

afterAll(async () => {
  if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  await world?.close();
});

describe('gatehouse/express', () => {
  it('signs in with the dev IdP, opens a protected route, signs out, and is refused after', async () => {
    await runAdapterFlow(world);
  });

  it('getSession answers null when signed out; a mount path does not hide the auth routes', async () => {
    expect(await (await fetch(`${world.origin}/api/whoami`)).json()).toEqual({ signedIn: false });
    const gatehouse = createExpressAdapter(world.auth);
    const mounted = express();
    mounted.use('/auth', gatehouse.handler); // req.url loses "/auth" here; originalUrl keeps it
    const probe = createServer(mounted);
    await new Promise<void>((resolve) => probe.listen(0, 'localhost', resolve));
    try {
      const res = await fetch(`http://localhost:${(probe.address() as AddressInfo).port}/auth/session`);
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ error: { code: 'UNAUTHENTICATED' } });
    } finally {
      await new Promise<void>((resolve) => probe.close(() => resolve()));
    }
  });

  it("keeps Express's own client errors: malformed JSON is a 400, an oversized body a 413, in the JSON error shape (not a 500)", async () => {
    const post = (body: string) => fetch(`${world.origin}/api/posts`, { method: 'POST', headers: { 'content-type': 'application/json', origin: world.origin }, body });
    const malformed = await post('{bad json');
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toMatchObject({ error: { code: 'INVALID_JSON' } });
    const large = await post(JSON.stringify({ title: 'x'.repeat(200_000) }));
    expect(large.status).toBe(413);
    expect(await large.json()).toMatchObject({ error: { code: 'PAYLOAD_TOO_LARGE', message: 'The request body is larger than 102400 bytes.' } });
    // Not Express's own (no `expose`): the server's problem, a 500, never the upstream's 401.
    const upstream = await fetch(`${world.origin}/api/upstream`);
    expect(upstream.status).toBe(500);
    expect(await upstream.json()).toMatchObject({ error: { code: 'INTERNAL_ERROR' } });
  });

  it("answers a route parameter that is not valid percent-encoding with Express's 400, not a 500", async () => {
    // The router throws a URIError with status 400 (no `expose`); Express's own handler answers 400.
    const errors: string[] = [];
    const gatehouse = createExpressAdapter({ ...world.auth, errorResponse: (error: unknown) => (errors.push(String(error)), world.auth.errorResponse(error)) });
    const probe = express();
    probe.get('/api/posts/:id', gatehouse.requireSession(), (req, res) => {
      res.json({ id: req.params.id });
    });
    probe.use(gatehouse.errorHandler);
    const server = createServer(probe);
    await new Promise<void>((resolve) => server.listen(0, 'localhost', resolve));
    try {
      const base = `http://localhost:${(server.address() as AddressInfo).port}`;
      const res = await fetch(`${base}/api/posts/%E0%A4%A`);
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ error: { code: 'BAD_REQUEST' } });
      expect(errors.join('\n')).not.toContain('URIError');
      expect((await fetch(`${base}/api/posts/42`)).status).toBe(401);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    // The same through the shared app, signed out and with a bad encoding.
    const shared = await fetch(`${world.origin}/api/posts/%E0%A4%A`);
    expect(shared.status).toBe(400);
  });

  it("keeps the Set-Cookie headers an earlier middleware set next to Gatehouse's own", async () => {
    const gatehouse = createExpressAdapter(world.auth);
    const probe = express();
    probe.use((_req, res, next) => {
      res.cookie('consent', 'yes', { path: '/' });
      next();
    });
    probe.use(gatehouse.handler);
    const server = createServer(probe);
    await new Promise<void>((resolve) => server.listen(0, 'localhost', resolve));
    try {
      // A well-formed cookie of no session: GET /auth/session answers 401 and clears it.
      const stale = `${SESSION_COOKIE}=${'a'.repeat(22)}.${'b'.repeat(43)}`;
      const res = await fetch(`http://localhost:${(server.address() as AddressInfo).port}/auth/session`, { headers: { cookie: stale } });
      expect(res.status).toBe(401);
      expect(res.headers.getSetCookie()).toEqual(['consent=yes; Path=/', `${SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax`]);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('says to mount it before the body parser when the body was already read', async () => {
    const errors: string[] = [];
    const gatehouse = createExpressAdapter({ ...world.auth, errorResponse: (error: unknown) => (errors.push(String(error)), world.auth.errorResponse(error)) });
    const wrong = express();
    wrong.use(express.json());
    wrong.use(gatehouse.handler);
    const probe = createServer(wrong);
    await new Promise<void>((resolve) => probe.listen(0, 'localhost', resolve));
    try {
      const res = await fetch(`http://localhost:${(probe.address() as AddressInfo).port}/auth/passkeys/login/options`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'sec-fetch-site': 'same-origin', origin: world.origin },
        body: '{}',
      });
      expect(res.status).toBe(500);
      expect(await res.json()).toMatchObject({ error: { code: 'INTERNAL_ERROR' } });
      expect(errors.join('\n')).toContain('Mount the Gatehouse handler before body-parsing middleware');
    } finally {
      await new Promise<void>((resolve) => probe.close(() => resolve()));
    }
  });
});
