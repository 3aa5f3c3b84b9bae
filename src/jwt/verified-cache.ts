import type { AccessTokenClaims } from './access-token.js';

/**
 * Access tokens whose signature was verified, keyed by the exact token text: a repeated
 * token skips the signature check, never `exp`, the key's retirement or revocation, which
 * are checked on every request. Bounded: past `max` entries the oldest goes first.
 */
export interface VerifiedEntry {
  claims: AccessTokenClaims;
  kid: string;
}

export class VerifiedTokenCache {
  private readonly entries = new Map<string, VerifiedEntry>();
  constructor(private readonly max: number) {}

  get(token: string): VerifiedEntry | undefined {
    return this.entries.get(token);
  }

  set(token: string, entry: VerifiedEntry): void {
    if (this.max === 0) return;
    if (this.entries.size >= this.max) {
      const oldest = this.entries.keys().next();
      if (oldest.done !== true) this.entries.delete(oldest.value);
    }
    this.entries.set(token, entry);
  }

  delete(token: string): void {
    this.entries.delete(token);
  }

  get size(): number {
    return this.entries.size;
  }
}
