import { compactDecrypt, importJWK, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import type { GatehouseOptions } from '../src/index.js';
import { keyEncryptionKey } from '../src/jwt/keys.js';
import { getTestInstance, ORIGIN, type TestInstance } from './helpers.js';

export const JWT_SECRET = 'jwt-test-secret-0123456789-abcdefghijklmnop';
export const ACCESS = '__Host-gatehouse-access';
export const REFRESH = '__Secure-gatehouse-refresh';
export const REFRESHABLE = '__Host-gatehouse-refreshable';

/** A Gatehouse in JWT mode on in-memory SQLite (or the given database URL). */
export function getJwtInstance(overrides: Partial<GatehouseOptions> & { databaseUrl?: string } = {}): Promise<TestInstance> {
  const { jwt, session, ...rest } = overrides;
  return getTestInstance({ session: { strategy: 'jwt', ...session }, jwt: { secret: JWT_SECRET, ...jwt }, ...rest });
}

/** name -> value of every Set-Cookie, plus the raw lines. */
export function cookiesOf(headers: Headers): { values: Record<string, string>; lines: Record<string, string> } {
  const values: Record<string, string> = {};
  const lines: Record<string, string> = {};
  for (const line of headers.getSetCookie()) {
    const [pair] = line.split(';');
    const eq = pair!.indexOf('=');
    const name = pair!.slice(0, eq);
    values[name] = pair!.slice(eq + 1);
    lines[name] = line;
  }
  return { values, lines };
}

export interface JwtSignIn {
  userId: string;
  sessionId: string;
  access: string;
  refresh: string;
  /** The Cookie header a browser sends to non-refresh paths. */
  cookie: string;
  setCookie: string[];
}

export async function jwtSignIn(t: TestInstance, email: string, role?: string): Promise<JwtSignIn> {
  const store = await t.auth.storage();
  const user = (await store.findUserByEmail(email)) ?? (await t.auth.users.create({ email, name: email.split('@')[0], role }));
  const { session, headers } = await t.auth.createSession(user.id, new Request(`${ORIGIN}/sign-in`, { method: 'POST' }), { method: 'test', context: { ip: '203.0.113.10' } });
  const { values } = cookiesOf(headers);
  return {
    userId: user.id,
    sessionId: session.id,
    access: values[ACCESS]!,
    refresh: values[REFRESH]!,
    cookie: `${ACCESS}=${values[ACCESS]!}`,
    setCookie: headers.getSetCookie(),
  };
}

/** POST /auth/token/refresh with a refresh token, as the browser sends it. */
export function refresh(t: TestInstance, token: string, init: { ip?: string; headers?: Record<string, string> } = {}): Promise<Response> {
  return t.request('/auth/token/refresh', { method: 'POST', cookie: `${REFRESH}=${token}`, ip: init.ip, headers: init.headers });
}

/** The instance's current signing key, decrypted the way Gatehouse does (tests forge tokens with it). */
export async function signingKey(t: TestInstance, index = 0): Promise<{ kid: string; alg: string; privateKey: CryptoKey; publicJwk: JWK }> {
  const keys = await (await t.auth.storage()).listSigningKeys(t.clock.now);
  const row = keys[index];
  if (row === undefined) throw new Error('no signing key yet');
  const { plaintext } = await compactDecrypt(row.privateJwe, keyEncryptionKey(JWT_SECRET));
  const privateKey = (await importJWK(JSON.parse(new TextDecoder().decode(plaintext)) as JWK, row.alg)) as CryptoKey;
  return { kid: row.kid, alg: row.alg, privateKey, publicJwk: JSON.parse(row.publicJwk) as JWK };
}

/** Signs arbitrary claims/header with the real key: a token only the server could have made, except for what the test changed. */
export async function forge(
  t: TestInstance,
  claims: JWTPayload,
  header: Record<string, unknown> = {},
  key?: { kid: string; alg: string; privateKey: CryptoKey },
): Promise<string> {
  const k = key ?? (await signingKey(t));
  return new SignJWT(claims).setProtectedHeader({ alg: k.alg, kid: k.kid, typ: 'at+jwt', ...header }).sign(k.privateKey);
}

/** Claims as Gatehouse mints them, for a signed-in user. */
export function claimsFor(t: TestInstance, s: JwtSignIn, overrides: JWTPayload = {}): JWTPayload {
  const iat = Math.floor(t.clock.now / 1000);
  const claims: JWTPayload = {
    iss: ORIGIN,
    aud: ORIGIN,
    sub: s.userId,
    sid: s.sessionId,
    iat,
    exp: iat + 900,
    jti: 'jti-' + Math.random().toString(36).slice(2),
    role: 'member',
    auth_time: iat,
    amr: ['test'],
    email: 'x@example.com',
    name: 'x',
    ...overrides,
  };
  // Gatehouse's private iat_ms refines iat; keep them in step unless the test sets it.
  if (!('iat_ms' in overrides) && typeof claims.iat === 'number') claims.iat_ms = claims.iat * 1000;
  return claims;
}

export async function codeOf(res: Response): Promise<string | null> {
  const body: unknown = await res.json().catch(() => null);
  if (typeof body === 'object' && body !== null && 'error' in body && typeof body.error === 'object' && body.error !== null && 'code' in body.error) {
    return String(body.error.code);
  }
  return null;
}
