import { afterEach, describe, expect, it } from 'vitest';
import { getTestInstance, type TestInstance } from './helpers.js';
import { readCookie } from '../src/http/cookies.js';

let t: TestInstance;
afterEach(async () => t?.close());

function attributes(setCookie: string): Map<string, string> {
  const [, ...attrs] = setCookie.split(';').map((s) => s.trim());
  return new Map(attrs.map((a) => [a.split('=')[0]!.toLowerCase(), a.split('=')[1] ?? '']));
}

describe('COOK-01/02/03 the session cookie', () => {
  it('is __Host- prefixed, Secure, HttpOnly, Path=/, no Domain, SameSite=Lax', async () => {
    t = await getTestInstance();
    const { setCookie } = await t.signIn('a@example.com');
    expect(setCookie.startsWith('__Host-gatehouse-session=')).toBe(true);
    const attrs = attributes(setCookie);
    expect(attrs.has('secure')).toBe(true);
    expect(attrs.has('httponly')).toBe(true);
    expect(attrs.get('path')).toBe('/');
    expect(attrs.has('domain')).toBe(false);
    expect(attrs.get('samesite')).toBe('Lax');
  });

  it('is set with Cache-Control: no-store', async () => {
    t = await getTestInstance();
    const user = await t.auth.users.create({ email: 'b@example.com' });
    const { headers } = await t.auth.createSession(user.id, new Request('http://localhost:3000/'), { method: 'test' });
    expect(headers.get('cache-control')).toBe('no-store');
  });
});

describe('COOK-05 cookie names match exactly', () => {
  it('ignores a cookie whose name differs only in case or prefix', async () => {
    t = await getTestInstance();
    const { cookie } = await t.signIn('c@example.com');
    const value = cookie.split('=')[1]!;
    for (const name of ['__host-gatehouse-session', '__Host-Gatehouse-Session', 'gatehouse-session', '__Secure-gatehouse-session']) {
      expect((await t.request('/auth/session', { cookie: `${name}=${value}` })).status).toBe(401);
    }
    expect((await t.request('/auth/session', { cookie: `other=1; ${cookie}; x=y` })).status).toBe(200);
  });

  it('takes the first of duplicate cookies, deterministically', async () => {
    t = await getTestInstance();
    const { cookie } = await t.signIn('d@example.com');
    expect((await t.request('/auth/session', { cookie: `${cookie}; __Host-gatehouse-session=garbage` })).status).toBe(200);
    expect((await t.request('/auth/session', { cookie: `__Host-gatehouse-session=garbage; ${cookie}` })).status).toBe(401);
    expect(readCookie('a=1; a=2', 'a')).toBe('1');
  });
});

describe('COOK-06 size and lifetime', () => {
  it('stays far below 4096 bytes and its Max-Age never exceeds the absolute lifetime', async () => {
    t = await getTestInstance({ session: { absoluteLifetimeSeconds: 3600, idleTimeoutSeconds: 1800, touchIntervalSeconds: 60 } });
    const { setCookie } = await t.signIn('e@example.com');
    expect(new TextEncoder().encode(setCookie).byteLength).toBeLessThan(4096);
    expect(Number(attributes(setCookie).get('max-age'))).toBeLessThanOrEqual(3600);
    expect(Number(attributes(setCookie).get('max-age'))).toBeGreaterThan(3500);
  });
});
