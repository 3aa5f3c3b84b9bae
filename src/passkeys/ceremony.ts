import type { Core } from '../core.js';
import { clientBucket } from '../protect/client-ip.js';
import { AuthError, RateLimitedError } from '../errors.js';
import { readCookie } from '../http/cookies.js';
import { randomToken, sha256 } from '../lib/crypto.js';
import type { Ceremony, ChallengeRecord } from '../storage/contract.js';

/**
 * A passkey ceremony (sign-up, add a passkey, sign-in) is a challenge kept server-side and
 * bound to the browser that asked for it: the browser gets a random secret in an HttpOnly
 * `__Host-` cookie, the row keeps only its hash. Verification takes the row with one atomic
 * DELETE, so a challenge works once, for that browser, for that ceremony type, until it
 * expires (WA-02/03).
 */
export const CEREMONY_COOKIE = '__Host-gatehouse-ceremony';

/** WebAuthn Level 3, 13.4.3: challenges "at least 16 bytes"; 32 is the recommended size (WA-01). */
export const CHALLENGE_BYTES = 32;

export interface StartCeremonyInput {
  /** The request: a ceremony this browser still had pending is replaced, not kept. */
  request: Request;
  ceremony: Ceremony;
  challenge: string;
  ip: string | null;
  userId?: string | null;
  webauthnUserId?: string | null;
  email?: string | null;
  name?: string | null;
}

export class CeremonyError extends AuthError {
  /**
   * For the audit log: `no_ceremony` (no ceremony cookie, or not one of ours), or
   * `ceremony_not_found` (expired, already used, asked by another browser or for another ceremony).
   */
  readonly reason: 'no_ceremony' | 'ceremony_not_found';
  constructor(reason: CeremonyError['reason'] = 'ceremony_not_found') {
    super('CEREMONY_EXPIRED', 400, 'This passkey request expired or was already used. Start again.');
    this.reason = reason;
  }
}

export function ceremonyCookie(secret: string, maxAgeSeconds: number): string {
  return `${CEREMONY_COOKIE}=${secret}; Path=/; Max-Age=${Math.floor(maxAgeSeconds)}; HttpOnly; Secure; SameSite=Strict`;
}

export function clearedCeremonyCookie(): string {
  return `${CEREMONY_COOKIE}=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Strict`;
}

/** Stores a new ceremony; returns the Set-Cookie that binds it to this browser. */
export async function startCeremony(core: Core, input: StartCeremonyInput): Promise<string> {
  const { passkeys, now } = core.config;
  const created = now();
  const secret = randomToken(32);
  const record: ChallengeRecord = {
    id: randomToken(16),
    bindingHash: sha256(secret),
    ceremony: input.ceremony,
    challenge: input.challenge,
    userId: input.userId ?? null,
    webauthnUserId: input.webauthnUserId ?? null,
    email: input.email ?? null,
    name: input.name ?? null,
    // The client as per-IP bounds count it (an IPv6 /64 is one client).
    ip: clientBucket(input.ip),
    createdAt: created,
    expiresAt: created + passkeys.challengeTtlMs,
  };
  const store = await core.storage();
  const previous = readCookie(input.request.headers.get('cookie'), CEREMONY_COOKIE);
  const replaces = previous !== null && /^[A-Za-z0-9_-]{43}$/.test(previous) ? sha256(previous) : undefined;
  // Pending rows stay bounded: one per browser, and at most maxPendingPerIp per client (RATE-04).
  if (!(await store.insertChallenge(record, passkeys.maxPendingPerIp, replaces))) throw new RateLimitedError(passkeys.challengeTtlMs / 1000);
  return ceremonyCookie(secret, passkeys.challengeTtlMs / 1000);
}

/** Takes this browser's pending ceremony of the given type, exactly once; 400 CEREMONY_EXPIRED otherwise. */
export async function takeCeremony(core: Core, request: Request, ceremony: Ceremony): Promise<ChallengeRecord> {
  const secret = readCookie(request.headers.get('cookie'), CEREMONY_COOKIE);
  if (secret === null || !/^[A-Za-z0-9_-]{43}$/.test(secret)) throw new CeremonyError('no_ceremony');
  const store = await core.storage();
  const record = await store.consumeChallenge(sha256(secret), ceremony, core.config.now());
  if (record === null) throw new CeremonyError();
  return record;
}
