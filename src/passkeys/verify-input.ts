import { decodeClientDataJSON } from '@simplewebauthn/server/helpers';
import { z } from 'zod';
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import { AuthError } from '../errors.js';

/** A ceremony that did not verify. `reason` goes to the audit log, never to the client. */
export class PasskeyVerificationError extends AuthError {
  readonly reason: string;
  constructor(reason: string, status = 400) {
    super('PASSKEY_VERIFICATION_FAILED', status, 'The passkey could not be verified. Try again.');
    this.reason = reason;
  }
}

const b64url = z.string().regex(/^[A-Za-z0-9_-]*$/).max(16_384);

/** Fields every PublicKeyCredential JSON has; 1366 base64url chars = the 1023-byte id limit. */
const credentialFields = {
  id: b64url.min(1).max(1366),
  rawId: b64url.min(1).max(1366),
  type: z.literal('public-key'),
  authenticatorAttachment: z.enum(['platform', 'cross-platform']).optional(),
  clientExtensionResults: z.record(z.string(), z.unknown()).default({}),
};

/** The standard WebAuthn JSON serialisations (what @simplewebauthn/browser sends), size-limited. */
export const registrationResponse = z
  .object({
    ...credentialFields,
    response: z
      .object({
        clientDataJSON: b64url,
        attestationObject: b64url,
        authenticatorData: b64url.optional(),
        transports: z.array(z.string().max(32)).max(10).optional(),
        publicKeyAlgorithm: z.number().int().optional(),
        publicKey: b64url.optional(),
      })
      .strip(),
  })
  .strip();

export const authenticationResponse = z
  .object({
    ...credentialFields,
    response: z
      .object({
        clientDataJSON: b64url,
        authenticatorData: b64url,
        signature: b64url,
        userHandle: b64url.max(128).optional(),
      })
      .strip(),
  })
  .strip();

/**
 * WA-04..06: a ceremony run inside a cross-origin iframe reports `crossOrigin: true` and (in
 * browsers that send it) a `topOrigin`. SimpleWebAuthn checks `topOrigin` only at sign-in and
 * only when present, so Gatehouse checks both ceremonies itself: refused unless the top origin
 * is one of `passkeys.topOrigins`. Also refuses a clientDataJSON that is not a JSON object.
 */
export function refuseCrossOrigin(response: RegistrationResponseJSON | AuthenticationResponseJSON, topOrigins: readonly string[], status = 400): void {
  let clientData: unknown;
  try {
    clientData = decodeClientDataJSON(response.response.clientDataJSON);
  } catch {
    throw new PasskeyVerificationError('malformed_client_data', status);
  }
  // `null`, a number or an array decode without error; reading fields of them was a 500.
  if (typeof clientData !== 'object' || clientData === null || Array.isArray(clientData)) throw new PasskeyVerificationError('malformed_client_data', status);
  const { crossOrigin, topOrigin } = clientData as { crossOrigin?: unknown; topOrigin?: unknown };
  if (crossOrigin !== true && topOrigin === undefined) return;
  if (typeof topOrigin !== 'string' || !topOrigins.includes(topOrigin)) throw new PasskeyVerificationError('cross_origin', status);
}

/** A short, stable reason code for the audit log from a verification library error. */
export function reasonOf(error: unknown): string {
  if (error instanceof PasskeyVerificationError) return error.reason;
  const message = error instanceof Error ? error.message.toLowerCase() : '';
  const reasons: [RegExp, string][] = [
    [/counter/, 'counter_regression'],
    [/origin/, 'origin_mismatch'],
    [/rp ?id|rpidhash/, 'rp_id_mismatch'],
    [/challenge/, 'challenge_mismatch'],
    [/type/, 'type_mismatch'],
    [/user (was )?not present|user presence/, 'user_not_present'],
    [/user (could not be )?verif|user verification/, 'user_not_verified'],
    [/signature/, 'bad_signature'],
    [/algorithm|alg/, 'unsupported_algorithm'],
    [/backup|backed up/, 'backup_flags'],
  ];
  return reasons.find(([pattern]) => pattern.test(message))?.[1] ?? 'malformed_response';
}
