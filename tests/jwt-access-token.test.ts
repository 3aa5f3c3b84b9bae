// gatehouse-audit-ignore-file access-token-lifetime -- attack tests: forged tokens carry exp inside claimsFor(); each test checks the handler refuses them
import { createServer, type Server } from 'node:http';
import { exportJWK, exportSPKI, generateKeyPair, importJWK, SignJWT, base64url, type CryptoKey, type JWK } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { verifyAccessToken } from '../src/index.js';
import type { TestInstance } from './helpers.js';
import { ORIGIN } from './helpers.js';
import { ACCESS, claimsFor, codeOf, cookiesOf, forge, getJwtInstance, JWT_SECRET, jwtSignIn, REFRESH, REFRESHABLE, signingKey, type JwtSignIn } from './jwt-helpers.js';

/**
 * JWT-01..13: every attack goes through the HTTP handler with the forged token in the
 * access cookie, and must get 401 (never 200, never 500).
 */
let t: TestInstance;
let s: JwtSignIn;

const asAccess = (token: string) => t.request('/auth/session', { cookie: `${ACCESS}=${token}` });
async function refused(token: string, code = 'UNAUTHENTICATED'): Promise<void> {
  const res = await asAccess(token);
  expect(res.status).toBe(401);
  expect(await codeOf(res)).toBe(code);
}
const b64 = (value: unknown) => base64url.encode(JSON.stringify(value));

beforeAll(async () => {
  t = await getJwtInstance();
  s = await jwtSignIn(t, 'ada@example.com');
});
afterAll(async () => {
  await t.close();
});

describe('the sign-in cookies (COOK-01/02/04/06)', () => {
  it('sets the access JWT in a __Host- cookie and the refresh token in a __Secure- cookie scoped to the refresh endpoint', async () => {
    const { lines, values } = cookiesOf(new Headers(s.setCookie.map((c) => ['set-cookie', c] as [string, string])));
    expect(lines[ACCESS]).toMatch(/^__Host-gatehouse-access=[^;]+; Path=\/; Max-Age=(899|900); HttpOnly; Secure; SameSite=Lax$/);
    expect(lines[REFRESH]).toMatch(/^__Secure-gatehouse-refresh=[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}; Path=\/auth\/token\/refresh; Max-Age=604800; HttpOnly; Secure; SameSite=Strict$/);
    // The browser marker: the session id and a MAC, no secret (SESS-03).
    expect(lines[REFRESHABLE]).toMatch(new RegExp(`^__Host-gatehouse-refreshable=${s.sessionId}\\.[A-Za-z0-9_-]{43}; Path=/; Max-Age=604800; HttpOnly; Secure; SameSite=Lax$`));
    expect(lines['__Host-gatehouse-session']).toContain('Max-Age=0');
    for (const line of s.setCookie) expect(line.length).toBeLessThan(4096);
    expect(values[ACCESS]!.split('.')).toHaveLength(3);
  });

  it('the access token has the RFC 9068 header and claims', async () => {
    const [h, p] = s.access.split('.');
    const header: unknown = JSON.parse(new TextDecoder().decode(base64url.decode(h!)));
    const payload: unknown = JSON.parse(new TextDecoder().decode(base64url.decode(p!)));
    const { kid } = await signingKey(t);
    expect(header).toEqual({ alg: 'EdDSA', kid, typ: 'at+jwt' });
    expect(payload).toMatchObject({ iss: ORIGIN, aud: ORIGIN, sub: s.userId, sid: s.sessionId, role: 'member', jti: expect.any(String) });
    const { iat, exp } = payload as { iat: number; exp: number };
    expect(exp - iat).toBe(900);
  });

  it('a valid access token signs the request in; no token is 401 UNAUTHENTICATED, a dropped one with a live family is ACCESS_TOKEN_EXPIRED', async () => {
    const ok = await asAccess(s.access);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ user: { id: s.userId, role: 'member' }, session: { id: s.sessionId } });
    const none = await t.request('/auth/session');
    expect(none.status).toBe(401);
    expect(await codeOf(none)).toBe('UNAUTHENTICATED');
    const dropped = await t.request('/auth/session', { cookie: `${REFRESHABLE}=1` });
    expect(dropped.status).toBe(401);
    expect(await codeOf(dropped)).toBe('ACCESS_TOKEN_EXPIRED');
  });
});

describe('JWT-01 alg none, in any capitalisation', () => {
  it.each(['none', 'None', 'NONE', 'nOnE'])('alg %s is refused', async (alg) => {
    const { kid } = await signingKey(t);
    const body = b64(claimsFor(t, s));
    await refused(`${b64({ alg, kid, typ: 'at+jwt' })}.${body}.`);
    await refused(`${b64({ alg, kid, typ: 'at+jwt' })}.${body}.${s.access.split('.')[2]}`);
  });
});

describe('JWT-02/03 key confusion: HS256 signed with the public key', () => {
  it('is refused with the public key in every encoding (PEM, DER/SPKI base64, JWK JSON, raw x)', async () => {
    const { kid, publicJwk } = await signingKey(t);
    const publicKey = (await importJWK(publicJwk, 'EdDSA')) as CryptoKey;
    const pem = await exportSPKI(publicKey);
    const der = pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
    const secrets = [pem, der, Buffer.from(der, 'base64').toString('latin1'), JSON.stringify(publicJwk), publicJwk.x!, Buffer.from(publicJwk.x!, 'base64url').toString('latin1')];
    for (const secret of secrets) {
      for (const alg of ['HS256', 'HS384', 'HS512']) {
        const token = await new SignJWT(claimsFor(t, s)).setProtectedHeader({ alg, kid, typ: 'at+jwt' }).sign(new TextEncoder().encode(secret));
        await refused(token);
      }
    }
    const raw = await new SignJWT(claimsFor(t, s)).setProtectedHeader({ alg: 'HS256', kid, typ: 'at+jwt' }).sign(base64url.decode(publicJwk.x!));
    await refused(raw);
  });

  it('an algorithm the key is not for (ES256 header on the Ed25519 kid) is refused', async () => {
    const { kid } = await signingKey(t);
    const other = await generateKeyPair('ES256');
    const token = await new SignJWT(claimsFor(t, s)).setProtectedHeader({ alg: 'ES256', kid, typ: 'at+jwt' }).sign(other.privateKey);
    await refused(token);
  });

  it('RS256 (not on the allow-list) is refused', async () => {
    const { kid } = await signingKey(t);
    const rsa = await generateKeyPair('RS256');
    await refused(await new SignJWT(claimsFor(t, s)).setProtectedHeader({ alg: 'RS256', kid, typ: 'at+jwt' }).sign(rsa.privateKey));
  });
});

describe('JWT-04 any modified byte or malformed serialisation fails', () => {
  it('a tampered payload (role raised) with the original signature is refused', async () => {
    const [h, , sig] = s.access.split('.');
    await refused(`${h}.${b64(claimsFor(t, s, { role: 'admin' }))}.${sig}`);
  });

  it('every single-character change is refused', async () => {
    const token = s.access;
    const positions = [0, 5, token.indexOf('.') - 1, token.indexOf('.') + 1, token.lastIndexOf('.') - 1, token.lastIndexOf('.') + 1, token.length - 2, token.length - 1];
    for (const i of positions) {
      const c = token[i]!;
      const changed = token.slice(0, i) + (c === 'A' ? 'B' : 'A') + token.slice(i + 1);
      const res = await asAccess(changed);
      expect(res.status).toBe(401);
    }
    // The last character of an Ed25519 signature carries 4 unused bits: a change there decodes to the
    // same bytes, and is refused as a non-canonical serialisation.
    const last = token.at(-1)!;
    const sameBytes = token.slice(0, -1) + 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.indexOf(last) ^ 1];
    expect(Buffer.from(sameBytes.split('.')[2]!, 'base64url')).toEqual(Buffer.from(token.split('.')[2]!, 'base64url'));
    expect((await asAccess(sameBytes)).status).toBe(401);
  });

  it.each([
    ['empty', ''],
    ['two parts', 'a.b'],
    ['four parts', 'a.b.c.d'],
    ['not base64url', '!!!.###.$$$'],
    ['JSON header that is not an object', `${base64url.encode('"x"')}.${base64url.encode('{}')}.AAAA`],
    ['a JWE-shaped token', 'a.b.c.d.e'],
    ['a huge token', 'a'.repeat(5000) + '.' + 'b'.repeat(5000) + '.c'],
  ])('%s is refused', async (_name, token) => {
    const res = await asAccess(token);
    expect(res.status).toBe(401);
  });
});

describe('JWT-05 key material named in the header is never trusted and never fetched', () => {
  let server: Server;
  let hits = 0;
  let url = '';
  beforeAll(async () => {
    server = createServer((_req, res) => {
      hits++;
      res.end('{}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    url = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('jwk, jku, x5u and x5c headers are refused and cause no outbound request', async () => {
    const attacker = await generateKeyPair('EdDSA', { extractable: true });
    const jwk: JWK = await exportJWK(attacker.publicKey);
    const { kid } = await signingKey(t);
    const headers = [
      { jwk, kid },
      { jwk, kid: 'attacker' },
      { jku: `${url}/jwks.json`, kid: 'attacker' },
      { jku: `${url}/jwks.json`, kid },
      { x5u: `${url}/cert.pem`, kid: 'attacker' },
      { x5c: ['MIIB'], kid },
    ];
    for (const header of headers) {
      const token = await new SignJWT(claimsFor(t, s)).setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', ...header }).sign(attacker.privateKey);
      await refused(token);
    }
    // Also signed with the REAL key: naming key material is enough to be refused.
    await refused(await forge(t, claimsFor(t, s), { jku: `${url}/jwks.json` }));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(hits).toBe(0);
  });
});

describe('JWT-06 kid is only a lookup key', () => {
  it.each([
    ['unknown', 'AAAAAAAAAAAAAAAA'],
    ['path traversal', '../../../../etc/passwd'],
    ['SQL-ish', "' OR '1'='1' --"],
    ['oversized', 'k'.repeat(3000)],
    ['65 characters', 'k'.repeat(65)],
    ['a number', 42],
    ['null', null],
    ['missing', undefined],
  ])('%s kid is refused with 401, never 500', async (_name, kid) => {
    const real = await signingKey(t);
    const token = await new SignJWT(claimsFor(t, s)).setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', ...(kid === undefined ? {} : { kid }) } as { alg: string }).sign(real.privateKey);
    await refused(token);
  });
});

describe('JWT-06 unknown kids are rate limited', () => {
  it('a flood of unknown kids re-reads the keys from the database at most once per 5 seconds', async () => {
    const real = await signingKey(t);
    const store = await t.auth.storage();
    const original = store.listSigningKeys;
    const startedAt = t.clock.now;
    let reads = 0;
    store.listSigningKeys = (now) => {
      reads++;
      return original(now);
    };
    try {
      t.clock.advance(6000);
      for (let i = 0; i < 20; i++) {
        const token = await new SignJWT(claimsFor(t, s)).setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid: `unknown${i}` }).sign(real.privateKey);
        await refused(token);
      }
      expect(reads).toBe(1);
      t.clock.advance(6000);
      await refused(await new SignJWT(claimsFor(t, s)).setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid: 'unknown-later' }).sign(real.privateKey));
      expect(reads).toBe(2);
    } finally {
      store.listSigningKeys = original;
      t.clock.now = startedAt;
    }
  });

  it('a crit header is refused, even correctly signed with the real key', async () => {
    // Built by hand: jose itself refuses to sign an unknown critical extension.
    const k = await signingKey(t);
    const input = `${b64({ alg: 'EdDSA', kid: k.kid, typ: 'at+jwt', crit: ['ext'], ext: true })}.${b64(claimsFor(t, s))}`;
    const signature = await crypto.subtle.sign('Ed25519', k.privateKey, new TextEncoder().encode(input));
    await refused(`${input}.${base64url.encode(new Uint8Array(signature))}`);
  });
});

describe('JWT-07..09 time claims', () => {
  const now = () => Math.floor(t.clock.now / 1000);
  it('a missing exp is refused', async () => {
    const { exp: _exp, ...claims } = claimsFor(t, s);
    await refused(await forge(t, claims));
  });
  it('an expired token is refused as ACCESS_TOKEN_EXPIRED', async () => {
    await refused(await forge(t, claimsFor(t, s, { iat: now() - 900, exp: now() - 10 })), 'ACCESS_TOKEN_EXPIRED');
  });
  it('inside the 5 s leeway an expired token still passes; past it, it does not', async () => {
    expect((await asAccess(await forge(t, claimsFor(t, s, { iat: now() - 600, exp: now() - 3 })))).status).toBe(200);
    await refused(await forge(t, claimsFor(t, s, { iat: now() - 600, exp: now() - 6 })), 'ACCESS_TOKEN_EXPIRED');
  });
  it('a lifetime over 15 minutes is refused', async () => {
    await refused(await forge(t, claimsFor(t, s, { iat: now(), exp: now() + 901 })));
    await refused(await forge(t, claimsFor(t, s, { iat: now() - 1000, exp: now() + 60 })), 'ACCESS_TOKEN_EXPIRED');
  });
  it('iat in the future is refused', async () => {
    await refused(await forge(t, claimsFor(t, s, { iat: now() + 60, exp: now() + 600 })));
  });
  it('nbf in the future is refused', async () => {
    await refused(await forge(t, claimsFor(t, s, { nbf: now() + 60 })));
  });
  it('a missing iat is refused', async () => {
    const { iat: _iat, ...claims } = claimsFor(t, s);
    await refused(await forge(t, claims));
  });
  it('the real token expires on the clock: 15 minutes later it is ACCESS_TOKEN_EXPIRED', async () => {
    const fresh = await jwtSignIn(t, 'clock@example.com');
    expect((await asAccess(fresh.access)).status).toBe(200);
    t.clock.advance(906_000);
    try {
      await refused(fresh.access, 'ACCESS_TOKEN_EXPIRED');
    } finally {
      t.clock.advance(-906_000);
    }
  });
});

describe('JWT-10/11 exact iss and aud', () => {
  it.each([
    ['iss', { iss: 'https://evil.example.com' }],
    ['iss with a trailing slash', { iss: `${ORIGIN}/` }],
    ['aud', { aud: 'https://other-api.example.com' }],
    ['aud as an array with ours and another', { aud: [ORIGIN, 'https://other.example.com'] }],
    ['no sub', { sub: undefined }],
    ['no sid', { sid: undefined }],
  ])('wrong %s is refused', async (_name, change) => {
    await refused(await forge(t, claimsFor(t, s, change)));
  });
});

describe('JWT-12 explicit typing', () => {
  it('an ID token (typ JWT) signed by the same key is refused', async () => {
    await refused(await forge(t, claimsFor(t, s), { typ: 'JWT' }));
  });
  it('no typ is refused', async () => {
    const k = await signingKey(t);
    await refused(await new SignJWT(claimsFor(t, s)).setProtectedHeader({ alg: 'EdDSA', kid: k.kid }).sign(k.privateKey));
  });
  it('"application/at+jwt" is the same type and accepted', async () => {
    expect((await asAccess(await forge(t, claimsFor(t, s), { typ: 'application/at+jwt' }))).status).toBe(200);
  });
  it('COOK-04 the refresh token presented as an access token is refused', async () => {
    await refused(s.refresh);
    const res = await t.request('/auth/session', { cookie: `${REFRESH}=${s.refresh}` });
    expect(res.status).toBe(401);
  });
});

describe('JWT-06/13 keys: JWKS, rotation, retirement', () => {
  it('the JWKS publishes public parts only, and other services verify with jose through verifyAccessToken', async () => {
    const res = await t.request('/auth/jwks.json');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/jwk-set+json');
    const jwks = (await res.json()) as { keys: JWK[] };
    expect(jwks.keys.length).toBeGreaterThanOrEqual(1);
    for (const key of jwks.keys) {
      expect(Object.keys(key).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x']);
      expect(key).not.toHaveProperty('d');
    }
    const claims = await verifyAccessToken(s.access, { jwks, issuer: ORIGIN, audience: ORIGIN, now: () => t.clock.now });
    expect(claims).toMatchObject({ sub: s.userId, sid: s.sessionId, role: 'member' });
    await expect(verifyAccessToken(s.access, { jwks, issuer: ORIGIN, audience: 'https://api.example.com', now: () => t.clock.now })).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    await expect(verifyAccessToken(await forge(t, claimsFor(t, s), { typ: 'JWT' }), { jwks, issuer: ORIGIN, audience: ORIGIN, now: () => t.clock.now })).rejects.toMatchObject({ status: 401 });
  });

  it('verifyAccessToken fetches the JWKS from its URL (jose remote key set) and applies the same rules', async () => {
    let fetched = 0;
    const server = createServer((req, res) => {
      fetched++;
      void t.request(req.url ?? '/').then(async (answer) => {
        res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' });
        res.end(await answer.text());
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const address = server.address();
      const jwksUrl = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}/auth/jwks.json`;
      const options = { jwks: jwksUrl, issuer: ORIGIN, audience: ORIGIN, now: () => t.clock.now };
      expect(await verifyAccessToken(s.access, options)).toMatchObject({ sub: s.userId, sid: s.sessionId });
      expect(await verifyAccessToken(s.access, options)).toMatchObject({ sub: s.userId });
      expect(fetched).toBe(1); // cached by jose
      await expect(verifyAccessToken(s.refresh, options)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
      await expect(verifyAccessToken(await forge(t, claimsFor(t, s, { iat: Math.floor(t.clock.now / 1000) - 1000, exp: Math.floor(t.clock.now / 1000) - 100 })), options)).rejects.toMatchObject({ code: 'ACCESS_TOKEN_EXPIRED' });
      await expect(verifyAccessToken(s.access, { ...options, jwks: 'http://example.com/jwks.json' })).rejects.toThrow(/must use https/);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('rotation: the new key signs at once, the old one verifies until it retires, then tokens it signed fail', async () => {
    const before = await signingKey(t);
    const oldUser = await jwtSignIn(t, 'old-key@example.com');
    const { kid } = await t.auth.jwt!.rotateKeys();
    expect(kid).not.toBe(before.kid);
    const newUser = await jwtSignIn(t, 'new-key@example.com');
    expect(JSON.parse(new TextDecoder().decode(base64url.decode(newUser.access.split('.')[0]!)))).toMatchObject({ kid });
    expect((await asAccess(oldUser.access)).status).toBe(200);
    const jwks = (await (await t.request('/auth/jwks.json')).json()) as { keys: JWK[] };
    expect(jwks.keys.map((k) => k.kid).sort()).toEqual([before.kid, kid].sort());

    // Past the retirement (reload interval + TTL + leeway = 60 + 900 + 5 s), the old key verifies nothing,
    // even a token with fresh times signed by it.
    t.clock.advance(966_000);
    try {
      await t.auth.jwt!.rotateKeys(); // also reloads
      const forged = await forge(t, claimsFor(t, oldUser), {}, before);
      await refused(forged);
      const after = (await (await t.request('/auth/jwks.json')).json()) as { keys: JWK[] };
      expect(after.keys.map((k) => k.kid)).not.toContain(before.kid);
    } finally {
      t.clock.advance(-966_000);
    }
  });
});

describe('startup configuration', () => {
  let other: TestInstance | undefined;
  afterEach(async () => {
    await other?.close();
    other = undefined;
  });
  it('refuses a missing or short secret, a TTL over 15 minutes without the loud opt-out', async () => {
    await expect(getJwtInstance({ jwt: { secret: 'short' } })).rejects.toThrow(/jwt.secret is required in JWT mode and must be at least 32 characters/);
    await expect(getJwtInstance({ jwt: { secret: 'x'.repeat(32), accessTokenTtlSeconds: 3600 } })).rejects.toThrow(/above the 15-minute cap/);
    await expect(getJwtInstance({ session: { strategy: 'jwt' as const }, jwt: { secret: 'x'.repeat(32), algorithm: 'HS256' as 'EdDSA' } })).rejects.toThrow(/jwt.algorithm/);
    other = await getJwtInstance({ jwt: { secret: 'x'.repeat(32), accessTokenTtlSeconds: 3600, dangerouslyAllowAccessTokensOver15Minutes: true } });
    expect(other.auth.config.jwt?.accessTokenTtlSeconds).toBe(3600);
  });
  it('a wrong secret cannot use the stored keys: sign-in fails closed with 503, never signs', async () => {
    const { createGatehouse } = await import('../src/index.js');
    const errors: string[] = [];
    const wrong = createGatehouse({
      database: t.database,
      origin: ORIGIN,
      session: { strategy: 'jwt' },
      jwt: { secret: 'a-different-secret-a-different-secret' },
      logger: { warn: () => {}, error: (m, d) => errors.push(`${m} ${JSON.stringify(d)}`) },
    });
    const res = await wrong.handler(new Request(`${ORIGIN}/auth/token/refresh`, { method: 'POST', headers: { 'sec-fetch-site': 'same-origin', cookie: `${REFRESH}=${s.refresh}` } }));
    expect(res.status).toBe(503);
    expect(await res.text()).not.toContain('secret');
    expect(errors.join()).toContain('jwt.secret does not decrypt signing key');
    await wrong.close();
  });

  it('keys supplied through configuration: the first signs, all verify, the JWKS has public parts only; bad keys fail at startup', async () => {
    const make = async (alg: 'EdDSA' | 'ES256', kid: string): Promise<JWK> => ({ ...(await exportJWK((await generateKeyPair(alg, { extractable: true })).privateKey)), kid, alg });
    const oldKey = await make('EdDSA', 'old-key');
    const newKey = await make('ES256', 'new-key');
    const database = t.database;
    const { createGatehouse } = await import('../src/index.js');
    const quiet = { warn: () => {}, error: () => {} };
    const before = createGatehouse({ database, origin: ORIGIN, logger: quiet, session: { strategy: 'jwt' }, jwt: { secret: JWT_SECRET, signingKeys: [oldKey] } });
    const user = await t.auth.users.create({ email: 'supplied@example.com' });
    const signed = await before.createSession(user.id, new Request(`${ORIGIN}/x`, { method: 'POST' }), { method: 'test' });
    const oldToken = cookiesOf(signed.headers).values[ACCESS]!;
    expect(JSON.parse(new TextDecoder().decode(base64url.decode(oldToken.split('.')[0]!)))).toMatchObject({ kid: 'old-key', alg: 'EdDSA' });
    // The deploy that rotates: the new key first, the old one still listed.
    const after = createGatehouse({ database, origin: ORIGIN, logger: quiet, session: { strategy: 'jwt' }, jwt: { secret: JWT_SECRET, signingKeys: [newKey, oldKey] } });
    const cookie = `${ACCESS}=${oldToken}`;
    const res = await after.handler(new Request(`${ORIGIN}/auth/session`, { headers: { cookie, 'sec-fetch-site': 'same-origin' } }));
    expect(res.status).toBe(200);
    const jwks = (await (await after.handler(new Request(`${ORIGIN}/auth/jwks.json`))).json()) as { keys: JWK[] };
    expect(jwks.keys.map((k) => k.kid)).toEqual(['new-key', 'old-key']);
    for (const k of jwks.keys) expect(k).not.toHaveProperty('d');
    const fresh = await after.createSession(user.id, new Request(`${ORIGIN}/x`, { method: 'POST' }), { method: 'test' });
    expect(JSON.parse(new TextDecoder().decode(base64url.decode(cookiesOf(fresh.headers).values[ACCESS]!.split('.')[0]!)))).toMatchObject({ kid: 'new-key', alg: 'ES256' });
    await expect(after.jwt!.rotateKeys()).rejects.toThrow(/keys come from configuration/);
    // Once the old key is removed from the list, its tokens fail.
    const later = createGatehouse({ database, origin: ORIGIN, logger: quiet, session: { strategy: 'jwt' }, jwt: { secret: JWT_SECRET, signingKeys: [newKey] } });
    expect((await later.handler(new Request(`${ORIGIN}/auth/session`, { headers: { cookie, 'sec-fetch-site': 'same-origin' } }))).status).toBe(401);
    for (const g of [before, after, later]) await g.close();

    const { d: _d, ...publicOnly } = oldKey;
    const rsa = { ...(await exportJWK((await generateKeyPair('RS256', { extractable: true })).privateKey)), kid: 'rsa' };
    const bad: [JWK, RegExp][] = [
      [publicOnly, /is a public key; signing needs the private JWK/],
      [rsa, /must be an Ed25519 \(kty OKP\) or P-256 \(kty EC\) key/],
      [{ ...oldKey, kid: '../etc' }, /kid must be 1-64 characters/],
      [{ ...oldKey, alg: 'ES256' }, /does not fit the key; use "EdDSA"/],
    ];
    for (const [key, message] of bad) {
      expect(() => createGatehouse({ database, origin: ORIGIN, session: { strategy: 'jwt' }, jwt: { secret: JWT_SECRET, signingKeys: [key] } })).toThrow(message);
    }
  });

  it('ES256 keys work as well', async () => {
    other = await getJwtInstance({ jwt: { secret: 'y'.repeat(32), algorithm: 'ES256' } });
    const user = await jwtSignIn(other, 'es@example.com');
    expect(JSON.parse(new TextDecoder().decode(base64url.decode(user.access.split('.')[0]!)))).toMatchObject({ alg: 'ES256' });
    expect((await other.request('/auth/session', { cookie: user.cookie })).status).toBe(200);
  });
});
