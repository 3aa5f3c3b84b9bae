import { hkdfSync } from 'node:crypto';
import { CompactEncrypt, compactDecrypt } from 'jose';

/**
 * Encryption at rest for provider tokens the app chose to keep: a JWE (dir, A256GCM) under
 * a key derived with HKDF-SHA256 from the configured secret. jose does the cryptography.
 */
export interface Sealer {
  seal(value: string): Promise<string>;
  open(sealed: string): Promise<string>;
}

export function createSealer(secret: string, purpose: string): Sealer {
  const key = new Uint8Array(hkdfSync('sha256', secret, 'gatehouse', purpose, 32));
  return {
    seal: (value) => new CompactEncrypt(new TextEncoder().encode(value)).setProtectedHeader({ alg: 'dir', enc: 'A256GCM' }).encrypt(key),
    open: async (sealed) => new TextDecoder().decode((await compactDecrypt(sealed, key)).plaintext),
  };
}
