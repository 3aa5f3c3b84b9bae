import { createLocalJWKSet, createRemoteJWKSet, type CryptoKey, type JSONWebKeySet, type JWSHeaderParameters } from 'jose';
import { JWT_DEFAULTS } from '../config/jwt.js';
import { ACCESS_TOKEN_ALGORITHMS, verifyAccessTokenWith, type AccessTokenClaims } from './access-token.js';

export interface VerifyAccessTokenOptions {
  /** The exact `iss` Gatehouse puts in its tokens (its `jwt.issuer`, by default the app's origin). */
  issuer: string;
  /** The exact `aud` (Gatehouse's `jwt.audience`, by default the issuer). */
  audience: string;
  /**
   * Where the public keys come from: the JWKS URL (`https://app.example.com/auth/jwks.json`,
   * fetched and cached by jose, refetched on an unknown kid) or a key set you hold.
   */
  jwks: URL | string | JSONWebKeySet;
  /** Accepted algorithms; a subset of ["EdDSA", "ES256"]. Default: both. */
  algorithms?: ReadonlyArray<'EdDSA' | 'ES256'>;
  /** Clock skew tolerated on exp/nbf/iat. Default 5 seconds. */
  leewaySeconds?: number;
  /** Longest accepted lifetime (exp - iat). Default 900 seconds. */
  maxTtlSeconds?: number;
  /** Clock in milliseconds. Default `Date.now`. */
  now?: () => number;
}

type GetKey = (header: JWSHeaderParameters) => Promise<CryptoKey>;
const remoteSets = new Map<string, GetKey>();

function keySet(jwks: VerifyAccessTokenOptions['jwks']): GetKey {
  if (typeof jwks === 'string' || jwks instanceof URL) {
    const url = new URL(jwks);
    if (url.protocol !== 'https:' && url.hostname !== 'localhost' && url.hostname !== '127.0.0.1') {
      throw new TypeError(`verifyAccessToken: jwks URL ${url.href} must use https`);
    }
    let set = remoteSets.get(url.href);
    if (set === undefined) {
      const remote = createRemoteJWKSet(url);
      set = (header) => remote(header);
      remoteSets.set(url.href, set);
    }
    return set;
  }
  const local = createLocalJWKSet(jwks);
  return (header) => local(header);
}

/**
 * Verifies a Gatehouse access token without a database, for other services and edge
 * middleware: jose, a fixed algorithm allow-list, exact `iss` and `aud`, `typ: at+jwt`,
 * `exp` required, lifetime capped. Resolves to the claims; throws AccessTokenExpiredError
 * (401 ACCESS_TOKEN_EXPIRED) or UnauthenticatedError (401 UNAUTHENTICATED).
 *
 * It cannot see revocations: a signed-out session's token stays valid here until it
 * expires (at most 15 minutes). Ask Gatehouse (`auth.getSession`) where that matters.
 */
export async function verifyAccessToken(token: string, options: VerifyAccessTokenOptions): Promise<AccessTokenClaims> {
  const algorithms = (options.algorithms ?? ACCESS_TOKEN_ALGORITHMS).filter((a) => (ACCESS_TOKEN_ALGORITHMS as readonly string[]).includes(a));
  const getKey = keySet(options.jwks);
  const { claims } = await verifyAccessTokenWith(
    token,
    async (kid, alg) => {
      try {
        return await getKey({ kid, alg });
      } catch {
        return null;
      }
    },
    {
      issuer: options.issuer,
      audience: options.audience,
      algorithms,
      leewaySeconds: options.leewaySeconds ?? JWT_DEFAULTS.leewaySeconds,
      maxTtlSeconds: options.maxTtlSeconds ?? JWT_DEFAULTS.maxAccessTokenTtlSeconds,
      now: (options.now ?? Date.now)(),
      gatehouseClaims: false,
    },
  );
  return claims;
}
