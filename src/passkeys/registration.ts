import { generateRegistrationOptions, verifyRegistrationResponse, type PublicKeyCredentialCreationOptionsJSON, type RegistrationResponseJSON } from '@simplewebauthn/server';
import { isoBase64URL } from '@simplewebauthn/server/helpers';
import { randomBytes } from 'node:crypto';
import type { Core } from '../core.js';
import { ConflictError } from '../errors.js';
import type { ChallengeRecord, NewAuthEvent, PasskeyRecord, UserRecord } from '../storage/contract.js';
import { randomToken } from '../lib/crypto.js';
import { CHALLENGE_BYTES, startCeremony } from './ceremony.js';
import { PasskeyVerificationError, reasonOf, refuseCrossOrigin } from './verify-input.js';

/** COSE algorithms accepted for new passkeys: Ed25519, P-256, RSA (WA-09). */
export const SUPPORTED_ALGORITHMS = [-8, -7, -257];

export interface RegistrationSubject {
  /** Adding to a signed-in account; absent when signing up. */
  user?: { id: string; email: string; name: string };
  /** Signing up: the new account's details. */
  signUp?: { email: string; name: string };
  ip: string | null;
  request: Request;
}

export interface RegistrationOptionsResult {
  options: PublicKeyCredentialCreationOptionsJSON;
  setCookie: string;
}

/** Builds creation options and stores their challenge, bound to this browser (and user). */
export async function createRegistrationOptions(core: Core, subject: RegistrationSubject): Promise<RegistrationOptionsResult> {
  const { passkeys } = core.config;
  const store = await core.storage();
  const email = subject.user?.email ?? subject.signUp?.email ?? '';
  const name = subject.user?.name ?? subject.signUp?.name ?? '';
  // WA-01: user.id is a random handle, never the email or the database id.
  const candidate = isoBase64URL.fromBuffer(randomBytes(32));
  const webauthnUserId = subject.user ? await store.ensureWebauthnUserId(subject.user.id, candidate) : candidate;
  const existing = subject.user ? await store.listPasskeys(subject.user.id) : [];
  const challenge = isoBase64URL.fromBuffer(randomBytes(CHALLENGE_BYTES));
  const options = await generateRegistrationOptions({
    rpName: passkeys.rpName,
    rpID: passkeys.rpId,
    userName: email,
    userDisplayName: name || email,
    userID: isoBase64URL.toBuffer(webauthnUserId),
    challenge: isoBase64URL.toBuffer(challenge),
    attestationType: 'none',
    excludeCredentials: existing.map((p) => ({ id: p.id, transports: p.transports as never })),
    authenticatorSelection: { residentKey: 'required', userVerification: passkeys.userVerification },
    supportedAlgorithmIDs: SUPPORTED_ALGORITHMS,
    // The browser gives up when the server's challenge does (not after SimpleWebAuthn's 60 s default).
    timeout: passkeys.challengeTtlMs,
  });
  const setCookie = await startCeremony(core, {
    request: subject.request,
    ceremony: subject.user ? 'add' : 'signup',
    challenge: options.challenge,
    ip: subject.ip,
    userId: subject.user?.id ?? null,
    webauthnUserId,
    email: subject.signUp?.email ?? null,
    name: subject.signUp?.name ?? null,
  });
  return { options, setCookie };
}

/** Checks a registration response against its stored ceremony; returns the passkey to store. */
export async function verifyRegistration(
  core: Core,
  ceremony: ChallengeRecord,
  response: RegistrationResponseJSON,
  userId: string,
  name: string,
): Promise<PasskeyRecord> {
  const { passkeys, now } = core.config;
  refuseCrossOrigin(response, passkeys.topOrigins);
  let verification: Awaited<ReturnType<typeof verifyRegistrationResponse>>;
  try {
    verification = await verifyRegistrationResponse({
      response,
      expectedChallenge: ceremony.challenge,
      // WA-04..06: origin and RP ID come from configuration, never from the request.
      expectedOrigin: [...passkeys.origins],
      expectedRPID: passkeys.rpId,
      expectedType: 'webauthn.create',
      requireUserPresence: true,
      requireUserVerification: passkeys.userVerification === 'required',
      supportedAlgorithmIDs: SUPPORTED_ALGORITHMS,
    });
  } catch (error) {
    throw new PasskeyVerificationError(reasonOf(error));
  }
  if (!verification.verified) throw new PasskeyVerificationError('not_verified');
  const info = verification.registrationInfo;
  return {
    id: info.credential.id,
    userId,
    publicKey: isoBase64URL.fromBuffer(info.credential.publicKey),
    counter: info.credential.counter,
    // Only the transports WebAuthn defines (stored space-separated; "a b" would come back as two).
    transports: [...new Set((response.response.transports ?? []).filter((t) => KNOWN_TRANSPORTS.has(t)))],
    deviceType: info.credentialDeviceType,
    backedUp: info.credentialBackedUp,
    aaguid: info.aaguid,
    name: name || defaultPasskeyName(info.credentialDeviceType),
    createdAt: now(),
    lastUsedAt: null,
  };
}

function defaultPasskeyName(deviceType: string): string {
  return deviceType === 'multiDevice' ? 'Synced passkey' : 'Passkey on this device';
}

/** Creates the account and its first passkey in one transaction (sign-up). */
export async function createAccountWithPasskey(core: Core, ceremony: ChallengeRecord, passkey: PasskeyRecord, events: NewAuthEvent[] = []): Promise<UserRecord> {
  const store = await core.storage();
  if (ceremony.email === null || ceremony.webauthnUserId === null) throw new PasskeyVerificationError('incomplete_ceremony');
  try {
    return await store.createUserWithPasskey(
      { id: passkey.userId, email: ceremony.email, name: ceremony.name ?? '', role: core.config.authz.defaultRole, now: core.config.now(), webauthnUserId: ceremony.webauthnUserId },
      passkey,
      events,
    );
  } catch (error) {
    // ENUM-02: an existing email fails exactly like any other failed sign-up.
    if (error instanceof ConflictError) throw new PasskeyVerificationError(error.code === 'EMAIL_TAKEN' ? 'email_taken' : 'credential_taken');
    throw error;
  }
}

/** AuthenticatorTransport values (WebAuthn Level 3); anything else an authenticator reports is dropped. */
const KNOWN_TRANSPORTS: ReadonlySet<string> = new Set(['ble', 'cable', 'hybrid', 'internal', 'nfc', 'smart-card', 'usb']);

export function newUserId(): string {
  return randomToken(16);
}
