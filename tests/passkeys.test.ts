import { afterEach, describe, expect, it } from 'vitest';
import { getTestInstance, type TestInstance } from './helpers.js';
import { Browser } from './passkey-helpers.js';

let t: TestInstance;
afterEach(async () => t?.close());

describe('passkey sign-up and sign-in', () => {
  it('signs up with a passkey, signs out, and signs in again usernameless', async () => {
    t = await getTestInstance();
    const b = new Browser(t);
    const up = await b.signUp('ada@example.com', 'Ada');
    expect(up.status).toBe(201);
    const body = (await up.json()) as { user: { email: string; role: string } };
    expect(body.user).toMatchObject({ email: 'ada@example.com', role: 'member' });
    expect((await b.send('/auth/session', { method: 'GET' })).status).toBe(200);
    expect((await b.send('/auth/sign-out')).status).toBe(204);
    expect((await b.send('/auth/session', { method: 'GET' })).status).toBe(401);
    const inRes = await b.signIn();
    expect(inRes.status).toBe(200);
    expect((await b.send('/auth/session', { method: 'GET' })).status).toBe(200);
  });
});
