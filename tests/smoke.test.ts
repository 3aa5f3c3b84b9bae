import { afterEach, describe, expect, it } from 'vitest';
import { getTestInstance, type TestInstance } from './helpers.js';

let t: TestInstance;
afterEach(async () => t?.close());

describe('smoke', () => {
  it('signs in and reads the session', async () => {
    t = await getTestInstance();
    expect((await t.request('/auth/session')).status).toBe(401);
    const { cookie } = await t.signIn('a@example.com');
    const res = await t.request('/auth/session', { cookie });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { user: { email: string } };
    expect(body.user.email).toBe('a@example.com');
  });
});
