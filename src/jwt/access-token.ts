import { base64url, decodeProtectedHeader, errors, jwtVerify, SignJWT, type CryptoKey, type JWTPayload } from 'jose';
import { AccessTokenExpiredError, UnauthenticatedError } from '../errors.js';

/** RFC 9068: access tokens are typed `at+jwt`, so an ID token or any other JWT from the same key is refused (JWT-12). */
// No node: imports in this file or verify-access-token.ts: `gatehouse/verify` runs on the edge too.
export const ACCESS_TOKEN_TYPE = 'at+jwt';
/** The only algorithms Gatehouse signs with or accepts (JWT-02, JWT-13). */
export const ACCESS_TOKEN_ALGORITHMS = ['EdDSA', 'ES256'] as const;
/** Longer than any token we mint; anything bigger is refused before it is parsed. */
export const MAX_ACCESS_TOKEN_LENGTH = 4096;

/** The claims of a Gatehouse access token. */
export interface AccessTokenClaims {
  iss: string;
  aud: string;
  /** The user id. */
  sub: string;
  /** The session (refresh family) id. */
  sid: string;
  iat: number;
  /**
   * The issue time in milliseconds (private claim). `iat` has whole seconds; revocations
   * ("not before" a role change) need the order of events inside one second.
   */
  iat_ms: number;
  exp: number;
  jti: string;
  role: string;
  /** When the user last proved who they are (seconds). */
  auth_time: number;
  amr: string[];
  email: string;
  name: string;
}

export interface MintAccessTokenInput {
  issuer: string;
  audience: string;
  kid: string;
  alg: 'EdDSA' | 'ES256';
  privateKey: CryptoKey;
  userId: string;
  sessionId: string;
  role: string;
  email: string;
  name: string;
  authTime: number;
  amr: string[];
  /** Milliseconds. */
  issuedAtMs: number;
  /** Seconds. */
  expiresAt: number;
}

export async function mintAccessToken(input: MintAccessTokenInput): Promise<string> {
  return new SignJWT({
    sid: input.sessionId,
    role: input.role,
    auth_time: Math.floor(input.authTime / 1000),
    amr: input.amr,
    email: input.email,
    name: input.name,
    iat_ms: input.issuedAtMs,
  })
    .setProtectedHeader({ alg: input.alg, kid: input.kid, typ: ACCESS_TOKEN_TYPE })
    .setIssuer(input.issuer)
    .setAudience(input.audience)
    .setSubject(input.userId)
    .setIssuedAt(Math.floor(input.issuedAtMs / 1000))
    .setExpirationTime(input.expiresAt)
    .setJti(base64url.encode(crypto.getRandomValues(new Uint8Array(16))))
    .sign(input.privateKey);
}

export interface VerifyRules {
  issuer: string;
  audience: string;
  algorithms: readonly string[];
  leewaySeconds: number;
  /** Longest lifetime (exp - iat) accepted, seconds (JWT-07). */
  maxTtlSeconds: number;
  /** Milliseconds. */
  now: number;
  /** Require the profile claims Gatehouse itself mints (email, name, amr, auth_time). */
  gatehouseClaims: boolean;
}

/** The header members that name key material: never trusted, a token carrying one is refused (RFC 8725 3.10, JWT-05). */
const KEY_MATERIAL_HEADERS = ['jwk', 'jku', 'x5u', 'x5c', 'x5t', 'x5t#S256'];
const KID = /^[A-Za-z0-9_-]{1,64}$/;
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * Canonical base64url only: a final character with non-zero unused bits decodes to the
 * same bytes, so a decoder would accept a different string for the same token (JWT-04).
 */
function isCanonicalBase64url(segment: string): boolean {
  const rest = segment.length % 4;
  if (rest === 1) return false;
  if (rest === 0) return true;
  const last = ALPHABET.indexOf(segment[segment.length - 1]!);
  return (last & (rest === 2 ? 0b1111 : 0b11)) === 0;
}

const invalid = (): UnauthenticatedError => new UnauthenticatedError('The access token is not valid. Sign in again.');

/**
 * Reads and checks the header before any key is looked up: the algorithm is on the
 * allow-list (exact case, so never `none`, JWT-01), no key material is named, the kid is a
 * short plain identifier (JWT-06), the type is `at+jwt`. Returns the kid and alg.
 */
export function checkHeader(token: string, algorithms: readonly string[]): { kid: string; alg: string } {
  if (token.length > MAX_ACCESS_TOKEN_LENGTH || !COMPACT_JWS.test(token) || !token.split('.').every(isCanonicalBase64url)) throw invalid();
  let header: Record<string, unknown>;
  try {
    header = decodeProtectedHeader(token) as Record<string, unknown>;
  } catch {
    throw invalid();
  }
  const { alg, kid, typ } = header;
  if (typeof alg !== 'string' || !algorithms.includes(alg)) throw invalid();
  if (typeof kid !== 'string' || !KID.test(kid)) throw invalid();
  if (typeof typ !== 'string' || typ.toLowerCase().replace(/^application\//, '') !== ACCESS_TOKEN_TYPE) throw invalid();
  if (KEY_MATERIAL_HEADERS.some((name) => name in header) || 'crit' in header) throw invalid();
  return { kid, alg };
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

/** The claims, parsed from `unknown` (no casts on what a token says). */
function toClaims(payload: JWTPayload, gatehouseClaims: boolean): AccessTokenClaims {
  const { iss, aud, sub, iat, exp, jti } = payload;
  const sid: unknown = payload.sid;
  const role: unknown = payload.role;
  const authTime: unknown = payload.auth_time;
  const amr: unknown = payload.amr;
  const email: unknown = payload.email;
  const name: unknown = payload.name;
  const iatMs: unknown = payload.iat_ms;
  if (typeof iss !== 'string' || typeof aud !== 'string' || typeof sub !== 'string' || typeof jti !== 'string') throw invalid();
  if (typeof iat !== 'number' || typeof exp !== 'number' || typeof sid !== 'string' || typeof role !== 'string') throw invalid();
  if (gatehouseClaims && (typeof authTime !== 'number' || !isStringArray(amr) || typeof email !== 'string' || typeof name !== 'string')) throw invalid();
  // iat_ms must agree with iat (same second): it can only refine it, never move it.
  if (gatehouseClaims && (typeof iatMs !== 'number' || Math.floor(iatMs / 1000) !== iat)) throw invalid();
  return {
    iss,
    aud,
    sub,
    sid,
    iat,
    iat_ms: typeof iatMs === 'number' ? iatMs : iat * 1000,
    exp,
    jti,
    role,
    auth_time: typeof authTime === 'number' ? authTime : iat,
    amr: isStringArray(amr) ? amr : [],
    email: typeof email === 'string' ? email : '',
    name: typeof name === 'string' ? name : '',
  };
}

/**
 * Verifies an access token with jose: signature with the key `resolveKey` returns for the
 * kid (and only that key's algorithm), exact `iss` and `aud` (JWT-10/11), `typ`, `exp`
 * required, `nbf`/`iat` not in the future and a lifetime of at most `maxTtlSeconds`, within
 * the leeway (JWT-07..09). An expired token throws AccessTokenExpiredError; anything else
 * UnauthenticatedError, never a 500.
 */
export async function verifyAccessTokenWith(
  token: string,
  resolveKey: (kid: string, alg: string) => Promise<CryptoKey | null>,
  rules: VerifyRules,
): Promise<{ claims: AccessTokenClaims; kid: string }> {
  const { kid, alg } = checkHeader(token, rules.algorithms);
  const key = await resolveKey(kid, alg);
  if (key === null) throw invalid();
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, key, {
      algorithms: [alg],
      issuer: rules.issuer,
      audience: rules.audience,
      typ: ACCESS_TOKEN_TYPE,
      clockTolerance: rules.leewaySeconds,
      currentDate: new Date(rules.now),
      maxTokenAge: rules.maxTtlSeconds,
      requiredClaims: ['iss', 'aud', 'sub', 'iat', 'exp', 'jti'],
    }));
  } catch (error) {
    if (error instanceof errors.JWTExpired) throw new AccessTokenExpiredError();
    throw invalid();
  }
  // jose accepts an array `aud` containing ours; an access token for us names only us.
  if (payload.aud !== rules.audience) throw invalid();
  const claims = toClaims(payload, rules.gatehouseClaims);
  if (claims.exp - claims.iat > rules.maxTtlSeconds) throw invalid();
  return { claims, kid };
}
