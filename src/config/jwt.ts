import type { Redis } from 'ioredis';
import type { JWK } from 'jose';
import { z } from 'zod';
import { ConfigurationError } from '../errors.js';
import type { GatehouseLogger, GatehouseOptions } from './options.js';

const MINUTE = 60;

/** JWT-mode defaults; docs/jwt.md gives the reason for each. */
export const JWT_DEFAULTS = {
  accessTokenTtlSeconds: 15 * MINUTE,
  /** The cap on the access token lifetime (JWT-07), lifted only by the loud opt-out. */
  maxAccessTokenTtlSeconds: 15 * MINUTE,
  familyLifetimeSeconds: 7 * 24 * 60 * MINUTE,
  leewaySeconds: 5,
  refreshGraceSeconds: 10,
  verifiedTokenCacheSize: 10_000,
  algorithm: 'EdDSA',
  channel: 'gatehouse_revocations',
  /** Every instance re-reads the signing keys this often (and on an unknown kid, at most every 5 s). */
  keyReloadSeconds: 60,
  /** The revocation state is re-read from the database this often, as a safety net for the feed. */
  revocationReloadSeconds: 30,
} as const;

export interface ResolvedJwtConfig {
  secret: string;
  issuer: string;
  audience: string;
  algorithm: 'EdDSA' | 'ES256';
  accessTokenTtlSeconds: number;
  leewaySeconds: number;
  refreshGraceMs: number;
  verifiedTokenCacheSize: number;
  redis: string | Redis | undefined;
  /** Keys from configuration (checked at startup), or null: generated and stored. */
  signingKeys: readonly JWK[] | null;
  channel: string;
  /** How long a superseded key keeps verifying: tokens it signed must all have expired. */
  keyRetireAfterMs: number;
  keyReloadMs: number;
  revocationReloadMs: number;
}

const KID = /^[A-Za-z0-9_-]{1,64}$/;

/** Startup check of one supplied private JWK; the message says what to fix. */
export function checkSuppliedKey(jwk: JWK, index: number): { kid: string; alg: 'EdDSA' | 'ES256' } {
  const where = `jwt.signingKeys[${index}]`;
  if (typeof jwk.kid !== 'string' || !KID.test(jwk.kid)) throw new ConfigurationError(`${where}.kid must be 1-64 characters of A-Z a-z 0-9 _ -`);
  const okp = jwk.kty === 'OKP' && jwk.crv === 'Ed25519';
  const ec = jwk.kty === 'EC' && jwk.crv === 'P-256';
  if (!okp && !ec) throw new ConfigurationError(`${where} must be an Ed25519 (kty OKP) or P-256 (kty EC) key; RSA and symmetric keys are not accepted.`);
  const alg = okp ? 'EdDSA' : 'ES256';
  if (jwk.alg !== undefined && jwk.alg !== alg && !(okp && jwk.alg === 'Ed25519')) throw new ConfigurationError(`${where}.alg "${jwk.alg}" does not fit the key; use "${alg}".`);
  if (typeof jwk.d !== 'string') throw new ConfigurationError(`${where} is a public key; signing needs the private JWK (with "d").`);
  return { kid: jwk.kid, alg };
}


export const jwtOptionsSchema = z
  .object({
    secret: z.string().optional(),
    issuer: z.string().min(1).max(2048).optional(),
    audience: z.string().min(1).max(2048).optional(),
    algorithm: z.enum(['EdDSA', 'ES256']).optional(),
    signingKeys: z.array(z.record(z.string(), z.unknown())).min(1).optional(),
    accessTokenTtlSeconds: z.number().int().min(30).max(24 * 60 * MINUTE).optional(),
    dangerouslyAllowAccessTokensOver15Minutes: z.literal(true).optional(),
    leewaySeconds: z.number().int().min(0).max(60).optional(),
    refreshGraceSeconds: z.number().int().min(0).max(60).optional(),
    verifiedTokenCacheSize: z.number().int().min(0).max(1_000_000).optional(),
    redis: z.unknown().optional(),
    channel: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, 'must be letters, digits and _ (a PostgreSQL identifier)').optional(),
  })
  .strict();

/** Validates the JWT-mode options; every mistake says what to fix. */
export function resolveJwt(options: GatehouseOptions, origins: readonly string[], logger: GatehouseLogger): ResolvedJwtConfig {
  const j = options.jwt ?? {};
  const secret = j.secret;
  if (secret === undefined || secret.length < 32) {
    throw new ConfigurationError(
      'jwt.secret is required in JWT mode and must be at least 32 characters: it encrypts the signing keys at rest and must be the same on every instance. Generate one with: node -e "console.log(crypto.randomBytes(32).toString(\'base64url\'))"',
    );
  }
  const ttl = j.accessTokenTtlSeconds ?? JWT_DEFAULTS.accessTokenTtlSeconds;
  if (ttl > JWT_DEFAULTS.maxAccessTokenTtlSeconds) {
    if (j.dangerouslyAllowAccessTokensOver15Minutes !== true) {
      throw new ConfigurationError(
        `jwt.accessTokenTtlSeconds (${ttl}) is above the 15-minute cap (900). Lower it, or set jwt.dangerouslyAllowAccessTokensOver15Minutes: true if services that verify tokens themselves may accept a revoked token that long.`,
      );
    }
    logger.warn(`jwt.accessTokenTtlSeconds is ${ttl}: above the 15-minute cap (dangerouslyAllowAccessTokensOver15Minutes is set).`);
  }
  const familySeconds = options.session?.absoluteLifetimeSeconds ?? JWT_DEFAULTS.familyLifetimeSeconds;
  if (ttl >= familySeconds) {
    throw new ConfigurationError(`jwt.accessTokenTtlSeconds (${ttl}) must be shorter than session.absoluteLifetimeSeconds (${familySeconds}), the refresh family's lifetime.`);
  }
  const issuer = j.issuer ?? origins[0]!;
  const leeway = j.leewaySeconds ?? JWT_DEFAULTS.leewaySeconds;
  const reloadMs = JWT_DEFAULTS.keyReloadSeconds * 1000;
  return {
    secret,
    issuer,
    audience: j.audience ?? issuer,
    algorithm: j.algorithm ?? JWT_DEFAULTS.algorithm,
    accessTokenTtlSeconds: ttl,
    leewaySeconds: leeway,
    refreshGraceMs: (j.refreshGraceSeconds ?? JWT_DEFAULTS.refreshGraceSeconds) * 1000,
    verifiedTokenCacheSize: j.verifiedTokenCacheSize ?? JWT_DEFAULTS.verifiedTokenCacheSize,
    redis: j.redis ?? options.rateLimit?.redis,
    signingKeys: j.signingKeys === undefined ? null : j.signingKeys.map((key, i) => (checkSuppliedKey(key, i), key)),
    channel: j.channel ?? JWT_DEFAULTS.channel,
    // An instance may sign with the old key until its next reload; its last token then lives one TTL (+ leeway).
    keyRetireAfterMs: reloadMs + (ttl + leeway) * 1000,
    keyReloadMs: reloadMs,
    revocationReloadMs: JWT_DEFAULTS.revocationReloadSeconds * 1000,
  };
}
