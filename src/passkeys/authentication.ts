import { generateAuthenticationOptions, verifyAuthenticationResponse, type AuthenticationResponseJSON, type PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/server';
import { isoBase64URL } from '@simplewebauthn/server/helpers';
import { randomBytes } from 'node:crypto';
import type { Core } from '../core.js';
import type { ChallengeRecord, PasskeyRecord, PasskeyUse } from '../storage/contract.js';
import { CHALLENGE_BYTES, startCeremony } from './ceremony.js';
import { PasskeyVerificationError, reasonOf, refuseCrossOrigin } from './verify-input.js';

export interface AuthenticationOptionsResult {
  options: PublicKeyCredentialRequestOptionsJSON;
  setCookie: string;
}

/**
 * Request options for a sign-in. allowCredentials is always empty: every Gatehouse passkey
 * is discoverable, so the browser offers the right one, and the answer is the same whether
 * or not an email hint names an account (ENUM-03).
 */
export async function createAuthenticationOptions(core: Core, request: Request, ip: string | null): Promise<AuthenticationOptionsResult> {
  const { passkeys } = core.config;
  const options = await generateAuthenticationOptions({
    rpID: passkeys.rpId,
    challenge: randomBytes(CHALLENGE_BYTES),
    allowCredentials: [],
    userVerification: passkeys.userVerification,
    // The challenge's lifetime: the browser stops waiting when the server would refuse the answer,
    // and gatehouse/client renews an autofill request before then.
    timeout: passkeys.challengeTtlMs,
  });
  const setCookie = await startCeremony(core, { request, ceremony: 'login', challenge: options.challenge, ip });
  return { options, setCookie };
}

/** A verified assertion: the passkey that signed, and the counter it moves to. */
export interface VerifiedAssertion {
  passkey: PasskeyRecord;
  /** Written together with the new session (`Storage.createSessionWithEvent`), never on its own. */
  use: PasskeyUse;
}

/**
 * Verifies an assertion; returns the passkey that signed and its new counter, written nothing
 * yet: the counter moves in the sign-in's transaction, only if no other sign-in moved it first.
 * The key is looked up by the credential id in the response, and the response's user handle
 * must be that passkey's owner (WA-13): SimpleWebAuthn checks neither.
 */
export async function verifyAssertion(core: Core, ceremony: ChallengeRecord, response: AuthenticationResponseJSON): Promise<VerifiedAssertion> {
  const { passkeys, now } = core.config;
  refuseCrossOrigin(response, passkeys.topOrigins, 401);
  const store = await core.storage();
  const found = await store.findPasskey(response.id);
  if (found === null || response.rawId !== response.id) throw new PasskeyVerificationError('unknown_credential', 401);
  const { passkey, webauthnUserId } = found;
  // allowCredentials is always empty (usernameless), so the authenticator must say whose
  // credential this is (WebAuthn 7.2 step 6): a missing userHandle is refused, not skipped.
  const handle = response.response.userHandle;
  if (handle === undefined || handle === '') throw new PasskeyVerificationError('user_handle_missing', 401);
  if (handle !== webauthnUserId) throw new PasskeyVerificationError('user_handle_mismatch', 401);

  let verification: Awaited<ReturnType<typeof verifyAuthenticationResponse>>;
  try {
    verification = await verifyAuthenticationResponse({
      response,
      expectedChallenge: ceremony.challenge,
      expectedOrigin: [...passkeys.origins],
      expectedRPID: passkeys.rpId,
      expectedType: 'webauthn.get',
      // Checked above already; without it SimpleWebAuthn refuses every response that names a top origin.
      ...(passkeys.topOrigins.length > 0 ? { expectedTopOrigin: [...passkeys.topOrigins] } : {}),
      credential: {
        id: passkey.id,
        publicKey: isoBase64URL.toBuffer(passkey.publicKey),
        counter: passkey.counter,
        transports: passkey.transports as never,
      },
      requireUserVerification: passkeys.userVerification === 'required',
    });
  } catch (error) {
    // WA-11: a counter that went backwards (a cloned authenticator?) is refused and logged.
    throw new PasskeyVerificationError(reasonOf(error), 401);
  }
  if (!verification.verified) throw new PasskeyVerificationError('bad_signature', 401);
  const info = verification.authenticationInfo;
  // WA-08: backup eligibility is fixed for a credential's life. A key registered device-bound that
  // now claims to be syncable (or the reverse) is not the authenticator that registered it.
  if (info.credentialDeviceType !== passkey.deviceType) throw new PasskeyVerificationError('backup_eligibility_changed', 401);
  const lastUsedAt = now();
  return {
    passkey: { ...passkey, counter: info.newCounter, backedUp: info.credentialBackedUp, lastUsedAt },
    use: { id: passkey.id, previousCounter: passkey.counter, counter: info.newCounter, backedUp: info.credentialBackedUp, lastUsedAt },
  };
}
