import { hkdfSync } from 'node:crypto';
import { compactDecrypt, CompactEncrypt, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JSONWebKeySet, type JWK } from 'jose';
import { ServiceUnavailableError } from '../errors.js';
import { randomToken } from '../lib/crypto.js';
import type { NewAuthEvent, SigningKeyRecord, Storage } from '../storage/contract.js';

/**
 * Signing keys: generated with jose on first start, stored with the private half encrypted
 * (compact JWE, `dir` + A256GCM) under a key derived from the configured secret with HKDF.
 * One algorithm per key (JWT-02): the `alg` stored with the key is the only one it verifies.
 */
export interface SigningKey {
  kid: string;
  alg: 'EdDSA' | 'ES256';
  publicKey: CryptoKey;
  publicJwk: JWK;
  createdAt: number;
  supersededAt: number | null;
  retiresAt: number | null;
}

export interface KeyRing {
  /** Loads the keys, generating the first one when there is none. */
  ready(): Promise<void>;
  /** The key that signs now, with its private key. */
  signer(): Promise<{ kid: string; alg: 'EdDSA' | 'ES256'; privateKey: CryptoKey }>;
  /** The public key for `kid` if it verifies at `now`; null otherwise (unknown or retired, JWT-06). */
  verifier(kid: string, now: number): SigningKey | null;
  /** Re-reads the keys. */
  reload(): Promise<void>;
  /** Re-reads the keys because a token named an unknown kid: at most once per `minIntervalMs`. */
  reloadForUnknownKid(minIntervalMs: number): Promise<void>;
  /** The public keys that verify now: the JWKS (JWT-13: public parts only). */
  jwks(now: number): JSONWebKeySet;
  /**
   * A new key signs at once; the others verify until `retireAfterMs` from now. The key, the
   * superseding and `event` (the audit event, given the new kid and the superseded kids) are one transaction.
   */
  rotate(event: (kid: string, superseded: string[]) => NewAuthEvent): Promise<{ kid: string; superseded: string[] }>;
}

export interface KeyRingSetup {
  storage: () => Promise<Storage>;
  secret: string;
  algorithm: 'EdDSA' | 'ES256';
  retireAfterMs: number;
  now: () => number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const PUBLIC_MEMBERS: Record<string, readonly string[]> = { OKP: ['kty', 'crv', 'x'], EC: ['kty', 'crv', 'x', 'y'] };

/** The key that encrypts private JWKs at rest: HKDF-SHA-256 of the configured secret. */
export function keyEncryptionKey(secret: string): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', secret, 'gatehouse', 'gatehouse signing keys v1', 32));
}

/** Only the public members of a public JWK, plus kid/alg/use: never `d` or anything unexpected. */
function publicOnly(jwk: JWK, kid: string, alg: string): JWK {
  const out: JWK = { kid, alg, use: 'sig' };
  for (const member of PUBLIC_MEMBERS[jwk.kty ?? ''] ?? []) {
    const value = (jwk as Record<string, unknown>)[member];
    if (typeof value === 'string') (out as Record<string, unknown>)[member] = value;
  }
  return out;
}

function isAlg(value: string): value is 'EdDSA' | 'ES256' {
  return value === 'EdDSA' || value === 'ES256';
}

export async function generateSigningKey(algorithm: 'EdDSA' | 'ES256', secret: string, now: number): Promise<SigningKeyRecord> {
  const kid = randomToken(12);
  const pair = await generateKeyPair(algorithm, { extractable: true, ...(algorithm === 'EdDSA' ? { crv: 'Ed25519' } : {}) });
  const privateJwk = await exportJWK(pair.privateKey);
  const publicJwk = publicOnly(await exportJWK(pair.publicKey), kid, algorithm);
  const privateJwe = await new CompactEncrypt(encoder.encode(JSON.stringify(privateJwk)))
    // The kid in the authenticated header binds the ciphertext to its row: a swapped row fails to decrypt.
    .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid })
    .encrypt(keyEncryptionKey(secret));
  return { kid, alg: algorithm, publicJwk: JSON.stringify(publicJwk), privateJwe, createdAt: now, supersededAt: null, retiresAt: null };
}

export function createKeyRing(setup: KeyRingSetup): KeyRing {
  const kek = keyEncryptionKey(setup.secret);
  let keys = new Map<string, SigningKey>();
  let current: SigningKeyRecord | null = null;
  const privateKeys = new Map<string, Promise<CryptoKey>>();
  let lastUnknownKidReload = -Infinity;
  let reloading: Promise<void> | undefined;
  let readyPromise: Promise<void> | undefined;

  async function load(): Promise<void> {
    const now = setup.now();
    const rows = await (await setup.storage()).listSigningKeys(now);
    const next = new Map<string, SigningKey>();
    for (const row of rows) {
      if (!isAlg(row.alg)) continue;
      const known = keys.get(row.kid);
      const publicJwk = JSON.parse(row.publicJwk) as JWK;
      const publicKey = known?.publicKey ?? ((await importJWK(publicJwk, row.alg)) as CryptoKey);
      next.set(row.kid, { kid: row.kid, alg: row.alg, publicKey, publicJwk, createdAt: row.createdAt, supersededAt: row.supersededAt, retiresAt: row.retiresAt });
    }
    keys = next;
    // Newest first: the newest key no rotation superseded signs.
    current = rows.find((r) => r.supersededAt === null && isAlg(r.alg)) ?? null;
  }

  async function privateKey(row: SigningKeyRecord): Promise<CryptoKey> {
    let key = privateKeys.get(row.kid);
    if (key === undefined) {
      key = (async () => {
        const { plaintext, protectedHeader } = await compactDecrypt(row.privateJwe, kek).catch((error: unknown) => {
          // Fail closed, and say what to fix in the log (not to the client).
          throw new ServiceUnavailableError(undefined, {
            cause: new Error(`jwt.secret does not decrypt signing key ${row.kid}: every instance must use the same secret (${error instanceof Error ? error.message : String(error)})`),
          });
        });
        if (protectedHeader.kid !== row.kid) throw new Error(`signing key ${row.kid}: the encrypted key belongs to another kid`);
        return (await importJWK(JSON.parse(decoder.decode(plaintext)) as JWK, row.alg)) as CryptoKey;
      })();
      key.catch(() => privateKeys.delete(row.kid));
      privateKeys.set(row.kid, key);
    }
    return key;
  }

  const ring: KeyRing = {
    ready() {
      return (readyPromise ??= (async () => {
        await load();
        if (current === null) {
          await (await setup.storage()).insertSigningKey(await generateSigningKey(setup.algorithm, setup.secret, setup.now()));
          await load();
        }
      })().catch((error: unknown) => {
        readyPromise = undefined;
        throw error;
      }));
    },
    async signer() {
      await ring.ready();
      const row = current;
      // Every key superseded and none newer loaded yet: refuse to sign (fail closed) until the next reload.
      if (row === null || !isAlg(row.alg)) throw new ServiceUnavailableError(undefined, { cause: new Error('no signing key is active') });
      return { kid: row.kid, alg: row.alg, privateKey: await privateKey(row) };
    },
    verifier(kid, now) {
      const key = keys.get(kid);
      if (key === undefined) return null;
      if (key.retiresAt !== null && now >= key.retiresAt) return null;
      return key;
    },
    reload() {
      reloading ??= load().finally(() => {
        reloading = undefined;
      });
      return reloading;
    },
    reloadForUnknownKid(minIntervalMs) {
      // Rate limited: random kids from an attacker cost one database read per interval at most.
      if (reloading === undefined && setup.now() - lastUnknownKidReload < minIntervalMs) return Promise.resolve();
      lastUnknownKidReload = setup.now();
      return ring.reload();
    },
    jwks(now) {
      return { keys: [...keys.values()].filter((k) => k.retiresAt === null || now < k.retiresAt).map((k) => ({ ...k.publicJwk })) };
    },
    async rotate(event) {
      const store = await setup.storage();
      const now = setup.now();
      // The new key comes after every key there is in the signer's order (createdAt, then kid),
      // even in the same millisecond as the last one: it supersedes them all, and a rotation
      // racing this one on another instance supersedes only what came before it.
      const newest = (await store.listSigningKeys(now)).reduce((max, k) => Math.max(max, k.createdAt), -Infinity);
      const createdAt = Math.max(now, newest + 1);
      const record = await generateSigningKey(setup.algorithm, setup.secret, createdAt);
      const superseded = await store.rotateSigningKey(record, now + setup.retireAfterMs, (kids) => event(record.kid, kids));
      await load();
      return { kid: record.kid, superseded };
    },
  };
  return ring;
}
