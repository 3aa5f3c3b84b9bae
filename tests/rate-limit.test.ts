import { afterEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { getTestInstance, type TestInstance } from './helpers.js';
import { createRateLimiter } from '../src/protect/rate-limit.js';
import { clientBucket, createClientIpResolver, ipKey } from '../src/protect/client-ip.js';
import { DEFAULTS } from '../src/index.js';
import { hasRedis, REDIS_URL } from './services.js';

let t: TestInstance;
let extra: TestInstance | undefined;
afterEach(async () => {
  await t?.close();
  await extra?.close();
  extra = undefined;
});

const small = { session: { points: 3, durationSeconds: 60 }, admin: { points: 3, durationSeconds: 60 } };
const randomIp = () => `198.51.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}`;

describe('RATE-04 session endpoints are throttled', () => {
  it('answers 429 with Retry-After and the error shape, and logs it once', async () => {
    t = await getTestInstance({ rateLimit: { limits: small } });
    const statuses: number[] = [];
    let last: Response | undefined;
    for (let i = 0; i < 6; i++) {
      last = await t.request('/auth/session', { ip: '192.0.2.1' });
      statuses.push(last.status);
    }
    expect(statuses).toEqual([401, 401, 401, 429, 429, 429]);
    const retry = Number(last!.headers.get('retry-after'));
    expect(retry).toBeGreaterThan(0);
    expect(retry).toBeLessThanOrEqual(60);
    expect(await last!.json()).toMatchObject({ error: { code: 'RATE_LIMITED' } });
    // Another client is unaffected.
    expect((await t.request('/auth/session', { ip: '192.0.2.2' })).status).toBe(401);
    await new Promise((r) => setTimeout(r, 20));
    const events = await (await t.auth.storage()).listEvents({ limit: 10, type: 'rate_limited' });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ ip: '192.0.2.1', data: { limit: 'session' } });
  });
});

describe('rate-limit events', () => {
  it('never write an account identifier (an email) into the audit log', async () => {
    t = await getTestInstance({ rateLimit: { limits: { credentialAccount: { points: 1, durationSeconds: 60 } } } });
    const limiter = await t.auth.limiter();
    await limiter.consume('credentialAccount', 'account:secret.person@example.com');
    await expect(limiter.consume('credentialAccount', 'account:secret.person@example.com')).rejects.toMatchObject({ status: 429 });
    await new Promise((r) => setTimeout(r, 20));
    const events = await (await t.auth.storage()).listEvents({ limit: 10, type: 'rate_limited' });
    expect(events).toHaveLength(1);
    expect(events[0]!.data).toEqual({ limit: 'credentialAccount', key: 'account' });
    expect(JSON.stringify(events)).not.toContain('secret.person');
  });
});

describe('RATE-03 forwarding headers cannot reset limits', () => {
  it('ignores X-Forwarded-For, X-Real-IP and Forwarded without trusted proxies', async () => {
    t = await getTestInstance({ rateLimit: { limits: small } });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const spoof = `10.0.0.${i}`;
      const res = await t.request('/auth/session', {
        ip: '192.0.2.50',
        headers: { 'x-forwarded-for': spoof, 'x-real-ip': spoof, forwarded: `for=${spoof}` },
      });
      statuses.push(res.status);
    }
    expect(statuses.filter((s) => s === 429)).toHaveLength(3);
  });

  it('with a trusted proxy, takes the hop the proxy saw, not what the client wrote', () => {
    const resolve = createClientIpResolver(['10.0.0.0/8']);
    const h = (xff: string) => new Headers({ 'x-forwarded-for': xff });
    expect(resolve('10.1.1.1', h('1.2.3.4, 203.0.113.9'))).toBe('203.0.113.9');
    expect(resolve('10.1.1.1', h('203.0.113.9, 10.2.2.2'))).toBe('203.0.113.9');
    // An untrusted socket's header is ignored entirely.
    expect(resolve('198.51.100.1', h('203.0.113.9'))).toBe('198.51.100.1');
    expect(resolve('::ffff:10.1.1.1', h('garbage'))).toBe('10.1.1.1');
    expect(createClientIpResolver([])('198.51.100.1', h('1.1.1.1'))).toBe('198.51.100.1');
  });
});

describe('RATE-01/02 credential limits per account and per client are bounded', () => {
  it('locks an account out for at most one window, then lets it try again', async () => {
    const limiter = await createRateLimiter({
      limits: { ...DEFAULTS.limits, credentialAccount: { points: 2, durationSeconds: 1 } },
    });
    await limiter.consume('credentialAccount', 'account:v@example.com');
    await limiter.consume('credentialAccount', 'account:v@example.com');
    await expect(limiter.consume('credentialAccount', 'account:v@example.com')).rejects.toMatchObject({ status: 429 });
    await expect(limiter.check('credentialAccount', 'account:v@example.com')).rejects.toMatchObject({ status: 429 });
    await new Promise((r) => setTimeout(r, 1100));
    await expect(limiter.consume('credentialAccount', 'account:v@example.com')).resolves.toBeUndefined();
  });

  it('throttles one client spraying many accounts', async () => {
    const limiter = await createRateLimiter({ limits: { ...DEFAULTS.limits, credentialIp: { points: 5, durationSeconds: 60 } } });
    let refused = 0;
    for (let i = 0; i < 10; i++) {
      await limiter.consume('credentialAccount', `account:user${i}@example.com`);
      await limiter.consume('credentialIp', 'ip:192.0.2.99').catch(() => refused++);
    }
    expect(refused).toBe(5);
  });
});

describe.runIf(hasRedis)('limits shared through Redis', () => {
  it('two instances count against one budget', async () => {
    t = await getTestInstance({ rateLimit: { limits: small, redis: REDIS_URL } });
    extra = await getTestInstance({ rateLimit: { limits: small, redis: REDIS_URL } });
    const ip = randomIp();
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await (i % 2 === 0 ? t : extra).request('/auth/session', { ip })).status);
    expect(statuses).toEqual([401, 401, 401, 429, 429, 429]);
    const redis = new Redis(REDIS_URL);
    expect(Number(await redis.get(`gatehouse:rl:session:ip:${ip}`))).toBeGreaterThanOrEqual(3);
    redis.disconnect();
  });

  it('when Redis is unreachable, each instance still limits (never unlimited)', async () => {
    t = await getTestInstance({ rateLimit: { limits: small, redis: 'redis://127.0.0.1:1' } });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await t.request('/auth/session', { ip: '192.0.2.77' })).status);
    expect(statuses).toEqual([401, 401, 401, 429, 429]);
  });
});

describe('RATE-02/04 one client is an IPv4 address or an IPv6 /64', () => {
  it('keys IPv6 by its /64, whatever the notation', () => {
    expect(clientBucket('2001:db8:1:2:aaaa:bbbb:cccc:dddd')).toBe('2001:db8:1:2::/64');
    expect(clientBucket('2001:DB8:1:2::1')).toBe('2001:db8:1:2::/64');
    expect(clientBucket('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(clientBucket('::1')).toBe('0:0:0:0::/64');
    expect(clientBucket('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(clientBucket('64:ff9b::192.0.2.33')).toBe('64:ff9b:0:0::/64');
    expect(clientBucket('203.0.113.9')).toBe('203.0.113.9');
    expect(clientBucket(null)).toBeNull();
    expect(ipKey('2001:db8:1:2::7')).toBe(ipKey('2001:db8:1:2:ffff::1'));
    expect(ipKey('2001:db8:1:2::7')).not.toBe(ipKey('2001:db8:1:3::7'));
  });

  it('a spray from one /64, a new address per request, runs into the per-client credential limit', async () => {
    t = await getTestInstance({ rateLimit: { limits: { credentialIp: { points: 3, durationSeconds: 60 } } } });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await t.request('/auth/recovery/sign-in', {
        method: 'POST',
        ip: `2001:db8:aa:bb::${(i + 1).toString(16)}`,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: `spray${i}@example.com`, code: 'EEEEE-EEEEE' }),
      });
      statuses.push(res.status);
    }
    expect(statuses).toEqual([401, 401, 401, 429, 429]);
  });
});

describe('refunds (withCredentialBudget gives back the points of attempts that did not fail on the credential)', () => {
  it('a refund that arrives after the window moved on gives nothing: the new window keeps its full limit, not one more', async () => {
    const { createRateLimiter } = await import('../src/protect/rate-limit.js');
    const one = { points: 3, durationSeconds: 1 };
    const limiter = await createRateLimiter({ limits: { session: one, admin: one, ceremony: one, credentialIp: one, credentialAccount: one, refresh: one } });
    await limiter.consume('credentialIp', 'ip:a');
    // A slow attempt: the window ends before its point is given back.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await limiter.refund('credentialIp', 'ip:a');
    let allowed = 0;
    for (let i = 0; i < 10; i++) {
      try {
        await limiter.consume('credentialIp', 'ip:a');
        allowed++;
      } catch {
        break;
      }
    }
    // Without the check the late refund started the window at -1: 4 attempts.
    expect(allowed).toBe(3);
    // Within the window a refund still gives the point back.
    await limiter.consume('credentialIp', 'ip:b');
    await limiter.consume('credentialIp', 'ip:b');
    await limiter.consume('credentialIp', 'ip:b');
    await limiter.refund('credentialIp', 'ip:b');
    await expect(limiter.consume('credentialIp', 'ip:b')).resolves.toBeUndefined();
    await expect(limiter.consume('credentialIp', 'ip:b')).rejects.toMatchObject({ status: 429 });
    await limiter.close();
  });
});
