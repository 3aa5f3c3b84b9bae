import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Hono } from 'hono';
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
});
