/** The JWT-mode part of the storage contract (see contract.ts): signing keys, refresh tokens, revocations. */
import type { NewAuthEvent } from './contract.js';

/** A JWT signing key as stored: the private half only as a JWE under the configured secret. */
export interface SigningKeyRecord {
  kid: string;
  alg: string;
  /** The public JWK, as JSON. */
  publicJwk: string;
  /** The private JWK, encrypted (compact JWE). */
  privateJwe: string;
  createdAt: number;
  /** When a newer key took over signing; null while this key signs. */
  supersededAt: number | null;
  /** After this the key verifies nothing; null until superseded. */
  retiresAt: number | null;
}

/** One refresh token of a family. Only the hash of its secret is stored (RT-01). */
export interface RefreshTokenRecord {
  id: string;
  /** The family: the session it belongs to. */
  familyId: string;
  parentId: string | null;
  userId: string;
  secretHash: string;
  createdAt: number;
  /** The family's absolute end, copied to every token of the family (RT-05). */
  expiresAt: number;
  /** When it was exchanged for its successor; null while it is the live token. */
  rotatedAt: number | null;
}

export type RevocationKind = 'session' | 'user';

/**
 * A revocation access tokens must honour: every token of a session ("session"), or every
 * token of a user issued before `at` ("user"). `expiresAt`: when no token it could refuse is
 * still unexpired.
 */
export interface RevocationRecord {
  id: string;
  kind: RevocationKind;
  subject: string;
  at: number;
  expiresAt: number;
}

/** What one attempt to rotate a refresh token did (see JwtStorage.rotateRefreshToken). */
export type RefreshRotation = 'rotated' | 'taken' | 'ended';

export interface JwtStorage {
  insertSigningKey(key: SigningKeyRecord): Promise<void>;
  /** Every key not retired at `now`, newest first. */
  listSigningKeys(now: number): Promise<SigningKeyRecord[]>;
  /**
   * Marks every signing key before the new one (`kid`, created at `now`) that is not superseded
   * yet; returns their kids. "Before" is the signer's order: `createdAt`, then `kid`. Never a key
   * after it: two rotations at the same time must not supersede each other's new key and leave
   * none to sign with.
   */
  supersedeSigningKeys(kid: string, now: number, retiresAt: number): Promise<string[]>;
  /**
   * A rotation in ONE transaction: the new key inserted, the keys before it superseded
   * (`supersedeSigningKeys`), and the event written; returns the superseded kids. A failure
   * halfway used to leave the new key signing and the old one verifying with no end date.
   */
  rotateSigningKey(key: SigningKeyRecord, retiresAt: number, event: (superseded: string[]) => NewAuthEvent): Promise<string[]>;

  /**
   * Stores the first token of a family. False when the family's session no longer exists:
   * it was ended (revoke-all, an admin) between its creation and this write.
   */
  insertRefreshToken(token: RefreshTokenRecord): Promise<boolean>;
  findRefreshToken(id: string): Promise<RefreshTokenRecord | null>;
  /**
   * Inserts `child` as the one successor of `parentId` and marks the parent rotated:
   * 'rotated' for exactly one caller, however many race; 'taken' when the parent already has
   * a child (RT-04); 'ended' when the family's session no longer exists, because it was ended
   * after the caller read it (no successor may outlive its session). A parent with a child
   * counts as rotated even before `rotatedAt` is written.
   */
  rotateRefreshToken(parentId: string, child: RefreshTokenRecord, now: number): Promise<RefreshRotation>;

  insertRevocation(revocation: RevocationRecord): Promise<void>;
  /** Revocations still in force at `now`. */
  listRevocations(now: number): Promise<RevocationRecord[]>;
  /** Revocations whose `at` is at or after `since` (the polling feed of several processes on one SQLite file). */
  listRevocationsSince(since: number): Promise<RevocationRecord[]>;
  /** The latest `at` of a user revocation still in force, or null. */
  findUserRevokedAt(userId: string, now: number): Promise<number | null>;
  deleteExpiredRevocations(now: number): Promise<number>;
}
