// Target (g), the naive JWT check: jose's jwtVerify on every request (signature, iss, aud,
// typ, exp), with the same key set and rules, and nothing else: no cache and no revocation.
// jose resolves from the repository's node_modules: the same copy Gatehouse itself uses.
import { createLocalJWKSet, jwtVerify } from 'jose';

const COOKIE = '__Host-gatehouse-access';

export function createNaiveJoseCheck({ jwks, issuer }) {
  const keys = createLocalJWKSet(jwks);
  async function check(request, c) {
    let token = null;
    for (const part of (c?.env?.incoming?.headers?.cookie ?? request.headers.get('cookie') ?? '').split(';')) {
      const eq = part.indexOf('=');
      if (eq !== -1 && part.slice(0, eq).trim() === COOKIE) {
        token = part.slice(eq + 1).trim();
        break;
      }
    }
    if (token === null) return null;
    try {
      const { payload } = await jwtVerify(token, keys, { issuer, audience: issuer, algorithms: ['EdDSA', 'ES256'], typ: 'at+jwt', requiredClaims: ['exp', 'iat', 'sub'] });
      return typeof payload.sub === 'string' ? payload.sub : null;
    } catch {
      return null;
    }
  }
  return { check, close: async () => {} };
}
