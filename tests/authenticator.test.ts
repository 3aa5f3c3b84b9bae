/**
 * Differential tests of the software authenticator against the reference verifier
 * (@simplewebauthn/server): honest responses verify, and each tamper fails the exact check it claims.
 * Where the reference does NOT check something, the test pins that, so Gatehouse knows to check it.
 */
import { createPublicKey } from 'node:crypto';
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type RegistrationResponseJSON,
  type WebAuthnCredential,
} from '@simplewebauthn/server';
import { isoBase64URL } from '@simplewebauthn/server/helpers';
import { describe, expect, it } from 'vitest';
import {
  createSoftwareAuthenticator,
  type AuthenticationTamper,
  type RegistrationTamper,
  type SoftwareAuthenticator,
  type SoftwareAuthenticatorOptions,
} from '../src/testing/index.js';

const ORIGIN = 'http://localhost:3000';
const RP_ID = 'localhost';

/** 'verified', 'not verified', or the reference's error message: one value every case can assert on. */
async function outcome(run: () => Promise<{ verified: boolean }>): Promise<string> {
  try {
    return (await run()).verified ? 'verified' : 'not verified';
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

async function registrationOptions(userName = 'alice@example.com', supportedAlgorithmIDs?: number[]) {
  return generateRegistrationOptions({
    rpName: 'Gatehouse',
    rpID: RP_ID,
    userName,
    attestationType: 'none',
    authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
    ...(supportedAlgorithmIDs ? { supportedAlgorithmIDs } : {}),
  });
}

function verifyRegistration(response: RegistrationResponseJSON, challenge: string, supportedAlgorithmIDs?: number[]) {
  return verifyRegistrationResponse({
    response,
    expectedChallenge: challenge,
    expectedOrigin: ORIGIN,
    expectedRPID: RP_ID,
    requireUserVerification: true,
    ...(supportedAlgorithmIDs ? { supportedAlgorithmIDs } : {}),
  });
}

function verifyAuthentication(response: AuthenticationResponseJSON, challenge: string, credential: WebAuthnCredential) {
  return verifyAuthenticationResponse({
    response,
    expectedChallenge: challenge,
    expectedOrigin: ORIGIN,
    expectedRPID: RP_ID,
    credential,
    requireUserVerification: true,
  });
}

/** An authenticator with one credential the server has verified and stored. */
async function enrolled(options: Partial<SoftwareAuthenticatorOptions> = {}, userName?: string) {
  const authenticator = createSoftwareAuthenticator({ origin: ORIGIN, ...options });
  const creation = await registrationOptions(userName);
  const result = await verifyRegistration(authenticator.register(creation), creation.challenge);
  if (!result.verified) throw new Error('honest registration did not verify');
  return { authenticator, userId: creation.user.id, info: result.registrationInfo, stored: { ...result.registrationInfo.credential } };
}

async function assertWith(authenticator: SoftwareAuthenticator, stored: WebAuthnCredential, tamper?: AuthenticationTamper) {
  const request = await generateAuthenticationOptions({ rpID: RP_ID, userVerification: 'required' });
  const response = authenticator.authenticate(request, tamper);
  return { response, run: () => verifyAuthentication(response, request.challenge, stored) };
}

function clientDataOf(response: { response: { clientDataJSON: string } }): Record<string, unknown> {
  return JSON.parse(isoBase64URL.toUTF8String(response.response.clientDataJSON)) as Record<string, unknown>;
}

describe('registration', () => {
  it('verifies with the reference and looks like @simplewebauthn/browser output', async () => {
    const { authenticator, userId, info } = await enrolled();
    const [held] = authenticator.credentials;
    expect(info.fmt).toBe('none');
    expect(info.credential.id).toBe(held?.id);
    expect(info.credential.publicKey).toEqual(held?.publicKeyCose);
    expect(info.credential.counter).toBe(0);
    expect(info.credential.transports).toEqual(['internal']);
    expect(info.userVerified).toBe(true);
    expect(info.credentialDeviceType).toBe('singleDevice');
    expect(info.credentialBackedUp).toBe(false);
    expect(info.aaguid).toBe('00000000-0000-0000-0000-000000000000');
    expect(held?.userHandle).toBe(userId);

    const creation = await registrationOptions('bob@example.com');
    const response = authenticator.register(creation);
    expect(response.authenticatorAttachment).toBe('platform');
    expect(response.clientExtensionResults).toEqual({});
    expect(response.response.publicKeyAlgorithm).toBe(-7);
    const spki = createPublicKey({ key: Buffer.from(isoBase64URL.toBuffer(response.response.publicKey ?? '')), format: 'der', type: 'spki' });
    expect(spki.equals(createPublicKey(authenticator.credentials[1]?.privateKey ?? ''))).toBe(true);
    expect(clientDataOf(response)).toEqual({ type: 'webauthn.create', challenge: creation.challenge, origin: ORIGIN, crossOrigin: false });
  });

  it('reports the backup flags it was given (WA-08)', async () => {
    const { info } = await enrolled({ backupEligible: true });
    expect(info.credentialDeviceType).toBe('multiDevice');
    expect(info.credentialBackedUp).toBe(true);
  });

  it.each<[string, RegistrationTamper, RegExp]>([
    ['origin (WA-04..06)', { origin: 'https://evil.example' }, /Unexpected registration response origin "https:\/\/evil\.example"/],
    ['rpIdHash (rpIdHashOf)', { rpIdHashOf: 'evil.example' }, /Unexpected RP ID hash/],
    ['type (WA-04..06)', { type: 'webauthn.get' }, /Unexpected registration response type: webauthn.get/],
    ['challenge (WA-02/03)', { challenge: 'c3RhbGUtY2hhbGxlbmdl' }, /Unexpected registration response challenge "c3RhbGUtY2hhbGxlbmdl"/],
    ['UP off (WA-07)', { userPresent: false }, /User presence was required/],
    ['UV off (WA-07)', { userVerified: false }, /User verification was required/],
    ['BS without BE (WA-08)', { backupEligible: false, backedUp: true }, /Single-device credential indicated that it was backed up/],
  ])('fails verification when tampered: %s', async (_name, tamper, error) => {
    const authenticator = createSoftwareAuthenticator({ origin: ORIGIN });
    const creation = await registrationOptions();
    expect(await outcome(() => verifyRegistration(authenticator.register(creation, tamper), creation.challenge))).toMatch(error);
  });

  it.each([-8, -257])('a key labelled alg %i is refused by an ES256-only allow-list (WA-08..10)', async (alg) => {
    const authenticator = createSoftwareAuthenticator({ origin: ORIGIN });
    const creation = await registrationOptions('alice@example.com', [-7]);
    const response = authenticator.register(creation, { alg });
    expect(response.response.publicKeyAlgorithm).toBe(alg);
    expect(await outcome(() => verifyRegistration(response, creation.challenge, [-7]))).toMatch(`Unexpected public key alg "${alg}"`);
  });

  it('crossOrigin/topOrigin are NOT checked by the reference at registration: Gatehouse must (WA-04..06)', async () => {
    const authenticator = createSoftwareAuthenticator({ origin: ORIGIN });
    const creation = await registrationOptions();
    const response = authenticator.register(creation, { crossOrigin: true, topOrigin: 'https://evil.example' });
    expect(clientDataOf(response)).toMatchObject({ crossOrigin: true, topOrigin: 'https://evil.example' });
    expect(await outcome(() => verifyRegistration(response, creation.challenge))).toBe('verified');
  });

  it("can register another user's credential id, which only the app can refuse (WA-12)", async () => {
    const victim = await enrolled();
    const attacker = createSoftwareAuthenticator({ origin: ORIGIN });
    const creation = await registrationOptions('mallory@example.com');
    const result = await verifyRegistration(attacker.register(creation, { credentialId: victim.stored.id }), creation.challenge);
    expect(result.verified && result.registrationInfo.credential.id).toBe(victim.stored.id);
    expect(result.registrationInfo?.credential.publicKey).not.toEqual(victim.stored.publicKey);
  });

  it('behaves like a browser: excludeCredentials, a foreign RP ID and an unsupported alg list are refused', async () => {
    const { authenticator, stored } = await enrolled();
    const again = { ...(await registrationOptions()), excludeCredentials: [{ id: stored.id, type: 'public-key' as const }] };
    expect(() => authenticator.register(again)).toThrow(expect.objectContaining({ name: 'InvalidStateError' }));
    const foreign = await generateRegistrationOptions({ rpName: 'Evil', rpID: 'evil.example', userName: 'a' });
    expect(() => authenticator.register(foreign)).toThrow(expect.objectContaining({ name: 'SecurityError' }));
    const rsaOnly = await registrationOptions('c@example.com', [-257]);
    expect(() => authenticator.register(rsaOnly)).toThrow(expect.objectContaining({ name: 'NotSupportedError' }));
  });
});

describe('authentication', () => {
  it('verifies with the reference, increments the counter and returns the userHandle', async () => {
    const { authenticator, userId, stored } = await enrolled();
    const first = await assertWith(authenticator, stored);
    const result = await first.run();
    expect(result.verified).toBe(true);
    expect(result.authenticationInfo.newCounter).toBe(1);
    expect(result.authenticationInfo.userVerified).toBe(true);
    expect(result.authenticationInfo.credentialBackedUp).toBe(false);
    expect(first.response.id).toBe(stored.id);
    expect(first.response.response.userHandle).toBe(userId);
    const second = await assertWith(authenticator, { ...stored, counter: 1 });
    expect((await second.run()).authenticationInfo.newCounter).toBe(2);
    expect(authenticator.credentials[0]?.counter).toBe(2);
  });

  it('reports synced-passkey flags and an always-zero counter that the reference accepts (WA-08, WA-11)', async () => {
    const { authenticator, stored } = await enrolled({ backupEligible: true, zeroCounter: true });
    for (let i = 0; i < 2; i++) {
      const result = await (await assertWith(authenticator, stored)).run();
      expect(result.verified).toBe(true);
      expect(result.authenticationInfo.newCounter).toBe(0);
      expect(result.authenticationInfo.credentialDeviceType).toBe('multiDevice');
      expect(result.authenticationInfo.credentialBackedUp).toBe(true);
    }
  });

  it('uses allowCredentials when given, else the newest credential (usernameless)', async () => {
    const { authenticator, stored: alice } = await enrolled();
    const bob = await registrationOptions('bob@example.com');
    const bobId = authenticator.register(bob).id;
    const listed = await generateAuthenticationOptions({ rpID: RP_ID, allowCredentials: [{ id: 'bm90LWhlbGQ' }, { id: alice.id }] });
    expect(authenticator.authenticate(listed).id).toBe(alice.id);
    const usernameless = await generateAuthenticationOptions({ rpID: RP_ID });
    expect(authenticator.authenticate(usernameless).response.userHandle).toBe(bob.user.id);
    expect(authenticator.authenticate(usernameless).id).toBe(bobId);
    const unknown = await generateAuthenticationOptions({ rpID: RP_ID, allowCredentials: [{ id: 'bm90LWhlbGQ' }] });
    expect(() => authenticator.authenticate(unknown)).toThrow(expect.objectContaining({ name: 'NotAllowedError' }));
  });

  it.each<[string, AuthenticationTamper, RegExp | string]>([
    ['origin (WA-04..06)', { origin: 'https://evil.example' }, /Unexpected authentication response origin "https:\/\/evil\.example"/],
    ['rpIdHash (rpIdHashOf)', { rpIdHashOf: 'evil.example' }, /Unexpected RP ID hash/],
    ['type (WA-04..06)', { type: 'webauthn.create' }, /Unexpected authentication response type: webauthn.create/],
    ['challenge (WA-02/03)', { challenge: 'c3RhbGUtY2hhbGxlbmdl' }, /Unexpected authentication response challenge/],
    ['crossOrigin with topOrigin (WA-04..06)', { crossOrigin: true, topOrigin: 'https://evil.example' }, /Detected cross-origin authentication/],
    ['topOrigin without crossOrigin (WA-04..06)', { topOrigin: 'https://evil.example' }, /Unexpected top origin/],
    ['UP off (WA-07)', { userPresent: false }, /User not present/],
    ['UV off (WA-07)', { userVerified: false }, /User verification required/],
    ['BS without BE (WA-08)', { backupEligible: false, backedUp: true }, /Single-device credential indicated that it was backed up/],
    ['bad signature (WA-08..10)', { badSignature: true }, 'not verified'],
  ])('fails verification when tampered: %s', async (_name, tamper, error) => {
    const { authenticator, stored } = await enrolled();
    expect(await outcome((await assertWith(authenticator, stored, tamper)).run)).toMatch(error);
    expect(await outcome((await assertWith(authenticator, { ...stored, counter: 1 })).run)).toBe('verified'); // the untampered control
  });

  it('refuses a counter that does not go up (WA-11)', async () => {
    const { authenticator, stored } = await enrolled();
    expect(await outcome((await assertWith(authenticator, stored)).run)).toBe('verified');
    const after = { ...stored, counter: 1 };
    expect(await outcome((await assertWith(authenticator, after, { counter: 1 })).run)).toMatch(/Response counter value 1 was lower than expected 1/);
    expect(await outcome((await assertWith(authenticator, after, { counter: 0 })).run)).toMatch(/Response counter value 0 was lower/);
  });

  it('a cloned credential is caught by its lagging counter (WA-11)', async () => {
    const { authenticator, stored } = await enrolled();
    const [snapshot] = authenticator.credentials;
    if (!snapshot) throw new Error('no credential');
    const clone = createSoftwareAuthenticator({ origin: ORIGIN });
    clone.importCredential(snapshot);
    for (const expected of [1, 2]) expect((await (await assertWith(authenticator, { ...stored, counter: expected - 1 })).run()).verified).toBe(true);
    expect(await outcome((await assertWith(clone, { ...stored, counter: 2 })).run)).toMatch(/Response counter value 1 was lower than expected 2/);
  });

  it("claiming a victim's credential id fails against the victim's key; the reference never compares the id (WA-13)", async () => {
    const victim = await enrolled({}, 'victim@example.com');
    const attacker = await enrolled({}, 'mallory@example.com');
    const forged = await assertWith(attacker.authenticator, victim.stored, { credentialId: victim.stored.id, userHandle: victim.userId });
    expect(forged.response.id).toBe(victim.stored.id);
    expect(await outcome(forged.run)).toBe('not verified');
    // Verified against the attacker's own stored key, the claimed id is ignored: Gatehouse must look the key up by response.id.
    const mismatch = await assertWith(attacker.authenticator, { ...attacker.stored, counter: 1 }, { credentialId: victim.stored.id });
    expect(await outcome(mismatch.run)).toBe('verified');
  });

  it('userHandle is reported as told and NOT checked by the reference: Gatehouse maps it to the owner (WA-13)', async () => {
    const { authenticator, stored } = await enrolled();
    const other = await assertWith(authenticator, stored, { userHandle: 'c29tZW9uZS1lbHNl' });
    expect(other.response.response.userHandle).toBe('c29tZW9uZS1lbHNl');
    expect(await outcome(other.run)).toBe('verified');
    const omitted = await assertWith(authenticator, { ...stored, counter: 1 }, { userHandle: null });
    expect('userHandle' in omitted.response.response).toBe(false);
  });
});
