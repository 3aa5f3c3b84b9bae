import * as jose from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { TestInstance } from './helpers.js';
import { codeOf, getJwtInstance, jwtSignIn } from './jwt-helpers.js';

// Count jose's signature checks: the fast path must not repeat them for a token it already verified.
vi.mock('jose', async (importOriginal) => {
  const actual = await importOriginal<typeof jose>();
  return { ...actual, jwtVerify: vi.fn(actual.jwtVerify) };
});

describe('verified-token cache (fast path)', () => {
  let t: TestInstance;
  beforeAll(async () => {
    t = await getJwtInstance({ jwt: { secret: 'cache-secret-0123456789-0123456789-xx', verifiedTokenCacheSize: 3 } });
  });
  afterAll(async () => {
    await t.close();
  });
  const verifications = () => vi.mocked(jose.jwtVerify).mock.calls.length;

  it('a repeated token is verified once; exp and revocation are still checked on every request', async () => {
    const s = await jwtSignIn(t, 'fast@example.com');
    const before = verifications();
    for (let i = 0; i < 20; i++) expect((await t.request('/auth/session', { cookie: s.cookie })).status).toBe(200);
    expect(verifications() - before).toBe(1);

    // Expiry on the cached entry: no new signature check, still refused.
    t.clock.advance(906_000);
    const expired = await t.request('/auth/session', { cookie: s.cookie });
    expect(expired.status).toBe(401);
    expect(await codeOf(expired)).toBe('ACCESS_TOKEN_EXPIRED');
    t.clock.advance(-906_000);

    // Revocation on the cached entry.
    const other = await jwtSignIn(t, 'fast2@example.com');
    expect((await t.request('/auth/session', { cookie: other.cookie })).status).toBe(200);
    await (await t.auth.storage()).deleteSession(other.sessionId);
    expect((await t.request('/auth/session', { cookie: other.cookie })).status).toBe(401);
  });

  it('concurrent requests with the same new token share one signature check (single flight)', async () => {
    const s = await jwtSignIn(t, 'burst@example.com');
    const before = verifications();
    const statuses = await Promise.all(Array.from({ length: 20 }, async () => (await t.request('/auth/session', { cookie: s.cookie })).status));
    expect(statuses).toEqual(Array(20).fill(200));
    expect(verifications() - before).toBe(1);
  });

  it('is keyed by the exact token: a changed byte is verified (and refused), and the size stays bounded', async () => {
    const s = await jwtSignIn(t, 'bytes@example.com');
    expect((await t.request('/auth/session', { cookie: s.cookie })).status).toBe(200);
    const before = verifications();
    const tampered = s.cookie.slice(0, -3) + (s.cookie.endsWith('AAA') ? 'BBB' : 'AAA');
    expect((await t.request('/auth/session', { cookie: tampered })).status).toBe(401);
    expect(verifications() - before).toBe(1);
    // Capacity 3: four distinct tokens push the first out, so it is verified again.
    const users = await Promise.all([1, 2, 3, 4].map((i) => jwtSignIn(t, `many${i}@example.com`)));
    for (const u of users) expect((await t.request('/auth/session', { cookie: u.cookie })).status).toBe(200);
    const mid = verifications();
    expect((await t.request('/auth/session', { cookie: users[0]!.cookie })).status).toBe(200);
    expect(verifications() - mid).toBe(1);
  });
});
