import { afterEach, describe, expect, it } from 'vitest';
import { getTestInstance, ORIGIN, type TestInstance } from './helpers.js';

let t: TestInstance;
afterEach(async () => t?.close());

async function sessionsLeft(t: TestInstance, userId: string): Promise<number> {
  return (await (await t.auth.storage()).listUserSessions(userId)).length;
}

/** Two sessions for one user: an attack on revoke-others would end the second. */
async function victim(t: TestInstance) {
  const a = await t.signIn('victim@example.com');
  await t.signIn('victim@example.com');
  return a;
}

describe('CSRF-03 Fetch Metadata decides when present', () => {
  it.each(['cross-site', 'same-site', 'none'])('refuses an unsafe request with Sec-Fetch-Site: %s and changes nothing', async (site) => {
    t = await getTestInstance();
    const { cookie, userId } = await victim(t);
    const res = await t.request('/auth/sessions/revoke-others', { method: 'POST', cookie, headers: { 'sec-fetch-site': site, origin: ORIGIN } });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('CSRF_REFUSED');
    expect(await sessionsLeft(t, userId)).toBe(2);
  });

  it('accepts same-site only when configured and the Origin is trusted', async () => {
    t = await getTestInstance({ origin: [ORIGIN, 'https://admin.example.com'], csrf: { allowSameSite: true } });
    const { cookie } = await victim(t);
    const ok = await t.request('/auth/sessions/revoke-others', {
      method: 'POST',
      cookie,
      headers: { 'sec-fetch-site': 'same-site', origin: 'https://admin.example.com' },
    });
    expect(ok.status).toBe(200);
    const foreign = await t.request('/auth/sign-out', { method: 'POST', cookie, headers: { 'sec-fetch-site': 'same-site', origin: 'https://evil.example.com' } });
    expect(foreign.status).toBe(403);
  });

  it('lets safe cross-site navigations through (they change nothing)', async () => {
    t = await getTestInstance();
    const { cookie } = await victim(t);
    expect((await t.request('/auth/session', { cookie, headers: { 'sec-fetch-site': 'cross-site' } })).status).toBe(200);
  });
});

describe('CSRF-04 without Fetch Metadata: Origin, then Referer, must match exactly', () => {
  const cases: [string, Record<string, string>, number][] = [
    ['matching Origin', { origin: ORIGIN }, 200],
    ['foreign Origin', { origin: 'https://evil.example' }, 403],
    ['Origin that only starts like ours', { origin: `${ORIGIN}.evil.example` }, 403],
    ['Origin with another port', { origin: 'http://localhost:3001' }, 403],
    ['Origin "null"', { origin: 'null' }, 403],
    ['matching Referer', { referer: `${ORIGIN}/account` }, 200],
    ['foreign Referer', { referer: 'https://evil.example/http://localhost:3000/' }, 403],
    ['garbage Referer', { referer: 'not a url' }, 403],
    ['neither header', {}, 403],
  ];
  it.each(cases)('%s', async (_name, headers, status) => {
    t = await getTestInstance();
    const { cookie, userId } = await victim(t);
    const res = await t.request('/auth/sessions/revoke-others', { method: 'POST', cookie, headers, browser: false });
    expect(res.status).toBe(status);
    expect(await sessionsLeft(t, userId)).toBe(status === 200 ? 1 : 2);
  });
});

describe('CSRF-01/02 JSON endpoints accept only application/json', () => {
  it('refuses a text/plain "JSON" body (what a cross-site form can send) with 415', async () => {
    t = await getTestInstance();
    const admin = await t.signIn('admin@example.com', { role: 'admin' });
    const target = await t.signIn('m@example.com');
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonx']) {
      const res = await t.request(`/auth/admin/users/${target.userId}`, {
        method: 'PATCH',
        cookie: admin.cookie,
        headers: { 'content-type': type },
        body: JSON.stringify({ role: 'admin' }),
      });
      expect(res.status).toBe(415);
    }
    expect((await (await t.auth.storage()).findUserById(target.userId))?.role).toBe('member');
  });

  it('refuses a form body on a body-less endpoint', async () => {
    t = await getTestInstance();
    const { cookie, userId } = await victim(t);
    const res = await t.request('/auth/sessions/revoke-others', { method: 'POST', cookie, headers: { 'content-type': 'text/plain' }, body: 'x=1' });
    expect(res.status).toBe(415);
    expect(await sessionsLeft(t, userId)).toBe(2);
  });
});

describe('CSRF-05 sign-out is protected and safe methods never change state', () => {
  it('a cross-site sign-out does not sign the user out', async () => {
    t = await getTestInstance();
    const { cookie } = await t.signIn('n@example.com');
    expect((await t.request('/auth/sign-out', { method: 'POST', cookie, headers: { 'sec-fetch-site': 'cross-site' } })).status).toBe(403);
    expect((await t.request('/auth/session', { cookie })).status).toBe(200);
  });

  it('GET on state-changing paths changes nothing', async () => {
    t = await getTestInstance();
    const { cookie, userId } = await victim(t);
    for (const path of ['/auth/sign-out', '/auth/sessions/revoke-others', '/auth/sessions/revoke-all']) {
      expect((await t.request(path, { cookie })).status).toBe(405);
    }
    expect(await sessionsLeft(t, userId)).toBe(2);
  });

  it('records a CSRF refusal in the audit log, at most once per IP per minute', async () => {
    t = await getTestInstance();
    const { cookie } = await t.signIn('o@example.com');
    for (let i = 0; i < 3; i++) await t.request('/auth/sign-out', { method: 'POST', cookie, headers: { 'sec-fetch-site': 'cross-site' } });
    await new Promise((r) => setTimeout(r, 20));
    const events = await (await t.auth.storage()).listEvents({ limit: 10, type: 'csrf.refused' });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ ip: '203.0.113.10', data: { reason: 'sec-fetch-site: cross-site', method: 'POST' } });
  });
});

describe('CORS-01/02 no credentialed CORS for foreign origins', () => {
  it('never reflects an Origin or allows credentials, on preflight or request', async () => {
    t = await getTestInstance();
    const { cookie } = await t.signIn('p@example.com');
    const evil = { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' };
    const preflight = await t.request('/auth/session', { method: 'OPTIONS', headers: { ...evil, 'access-control-request-method': 'GET' } });
    const read = await t.request('/auth/session', { cookie, headers: evil });
    for (const res of [preflight, read]) {
      expect(res.headers.get('access-control-allow-origin')).toBeNull();
      expect(res.headers.get('access-control-allow-credentials')).toBeNull();
    }
  });
});
