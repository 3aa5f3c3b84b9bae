import { importJWK, type CryptoKey, type JWK } from 'jose';
import { checkSuppliedKey } from '../config/jwt.js';
import { ConfigurationError } from '../errors.js';
import type { KeyRing, SigningKey } from './keys.js';

/**
 * Signing keys supplied through configuration (`jwt.signingKeys`, e.g. from a secret
 * manager) instead of generated and stored: the first key signs, every listed key verifies.
 * Rotation is a deploy: put the new key first, keep the old one listed until its tokens
 * expired (the access-token lifetime + leeway), then remove it.
 */
export function createStaticKeyRing(jwks: readonly JWK[]): KeyRing {
  const checked = jwks.map((jwk, i) => ({ jwk, ...checkSuppliedKey(jwk, i) }));
  let loaded: Promise<{ keys: Map<string, SigningKey>; signer: { kid: string; alg: 'EdDSA' | 'ES256'; privateKey: CryptoKey } }> | undefined;
  let keys = new Map<string, SigningKey>();

  const load = () =>
    (loaded ??= (async () => {
      const map = new Map<string, SigningKey>();
      let signer: { kid: string; alg: 'EdDSA' | 'ES256'; privateKey: CryptoKey } | undefined;
      for (const { jwk, kid, alg } of checked) {
        const { d: _d, ...publicMembers } = jwk;
        const publicJwk: JWK = { kty: publicMembers.kty, crv: publicMembers.crv, x: publicMembers.x, ...(publicMembers.y ? { y: publicMembers.y } : {}), kid, alg, use: 'sig' };
        const publicKey = (await importJWK(publicJwk, alg)) as CryptoKey;
        map.set(kid, { kid, alg, publicKey, publicJwk, createdAt: 0, supersededAt: null, retiresAt: null });
        signer ??= { kid, alg, privateKey: (await importJWK(jwk, alg)) as CryptoKey };
      }
      if (signer === undefined) throw new ConfigurationError('jwt.signingKeys is empty.');
      keys = map;
      return { keys: map, signer };
    })());

  return {
    async ready() {
      await load();
    },
    async signer() {
      return (await load()).signer;
    },
    verifier(kid) {
      return keys.get(kid) ?? null;
    },
    reload: async () => {},
    reloadForUnknownKid: async () => {},
    jwks() {
      return { keys: [...keys.values()].map((k) => ({ ...k.publicJwk })) };
    },
    rotate() {
      return Promise.reject(new ConfigurationError('jwt.signingKeys is set: keys come from configuration. Rotate by putting a new key first and deploying.'));
    },
  };
}
