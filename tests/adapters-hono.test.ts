import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Hono } from 'hono';
import { basicAuth } from 'hono/basic-auth';
import { bodyLimit } from 'hono/body-limit';
import { validator } from 'hono/validator';
import type { ServerType } from '@hono/node-server';
import { createHonoAdapter, type GatehouseVariables } from 'gatehouse/hono';
import { listen } from './support/browser.js';
import { createAdapterWorld, runAdapterFlow, type AdapterWorld } from './support/adapter-flow.js';

/** gatehouse/hono mounted in a real Hono app on @hono/node-server: the shared adapter flow. */
let world: AdapterWorld;
let site: { server: ServerType; port: number };
let app: Hono<{ Variables: GatehouseVariables }> | undefined;

beforeAll(async () => {
  site = await listen('localhost', (request, env) => (app ? app.fetch(request, env) : new Response(null, { status: 503 })));
  world = await createAdapterWorld(site.port);
  const gatehouse = createHonoAdapter(world.auth);
  const hono = new Hono<{ Variables: GatehouseVariables }>();
  hono.onError(gatehouse.onError);
  hono.all('/auth/*', gatehouse.handler);
  hono.get('/api/me', gatehouse.requirePermission('posts:read'), (c) => c.json({ email: c.get('gatehouse').user.email }));
  hono.get('/api/drafts', gatehouse.requirePermission('posts:write'), (c) => c.json({ drafts: [] }));
  hono.post('/api/posts', gatehouse.verifyOrigin(), gatehouse.requirePermission('posts:read'), async (c) => {
    const body: unknown = await c.req.json();
    const title = typeof body === 'object' && body !== null && 'title' in body ? body.title : null;
    return c.json({ title }, 201);
  });
  app = hono;
});

afterAll(async () => {
  if (site) await new Promise<void>((resolve) => site.server.close(() => resolve()));
  await world?.close();
});

describe('gatehouse/hono', () => {
  it('signs in with the dev IdP, opens a protected route, signs out, and is refused after', async () => {
    await runAdapterFlow(world);
  });

  it('passes the socket address as the client IP, never X-Forwarded-For', async () => {
    const gatehouse = createHonoAdapter(world.auth);
    const custom = createHonoAdapter(world.auth, { ip: () => '192.0.2.1' });
    const probe = new Hono();
    probe.get('/ip', (c) => c.text(gatehouse.ip(c) ?? 'none'));
    probe.get('/custom', (c) => c.text(custom.ip(c) ?? 'none'));
    const env = { incoming: { socket: { remoteAddress: '198.51.100.7' } } };
    const res = await probe.fetch(new Request('http://localhost/ip', { headers: { 'x-forwarded-for': '203.0.113.9' } }), env);
    expect(await res.text()).toBe('198.51.100.7');
    expect(await (await probe.fetch(new Request('http://localhost/ip'), {})).text()).toBe('none');
    expect(await (await probe.fetch(new Request('http://localhost/custom'))).text()).toBe('192.0.2.1');
  });

  it("keeps Hono's own HTTPExceptions (bodyLimit 413, basicAuth 401, validator 400) instead of turning them into 500s", async () => {
    const errors: string[] = [];
    const gatehouse = createHonoAdapter({ ...world.auth, errorResponse: (error: unknown) => (errors.push(String(error)), world.auth.errorResponse(error)) });
    const probe = new Hono();
    probe.onError(gatehouse.onError);
    probe.post('/upload', bodyLimit({ maxSize: 10 }), (c) => c.text('stored'));
    probe.get('/ops', basicAuth({ username: 'ops', password: 'secret' }), (c) => c.text('ops'));
    probe.post('/items', validator('json', (value) => value), (c) => c.json(c.req.valid('json')));
    probe.get('/me', gatehouse.requireSession(), (c) => c.text('me'));

    const tooLarge = await probe.request('/upload', { method: 'POST', body: 'x'.repeat(100) });
    expect(tooLarge.status).toBe(413);
    const challenge = await probe.request('/ops');
    expect(challenge.status).toBe(401);
    expect(challenge.headers.get('www-authenticate')).toMatch(/^Basic /);
    const malformed = await probe.request('/items', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{bad' });
    expect(malformed.status).toBe(400);
    expect(errors).toEqual([]);
    // Gatehouse's own errors still get the JSON error shape.
    const signedOut = await probe.request('/me');
    expect(signedOut.status).toBe(401);
    expect(await signedOut.json()).toMatchObject({ error: { code: 'UNAUTHENTICATED' } });
  });
});
