/**
 * A software passkey authenticator for tests: it plays the browser and the authenticator, answering
 * the JSON options a server sends with the JSON response @simplewebauthn/browser would post back.
 * Every response can be tampered with, field by field, for attack tests (SECURITY.md WA-04..13).
 * Test-only: keys live in memory, attestation is "none", only ES256 (-7) is signed for real.
 */
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { cose, isoBase64URL, isoCBOR, isoUint8Array } from '@simplewebauthn/server/helpers';
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';

export interface SoftwareAuthenticatorOptions {
  /** The page origin the "browser" reports in clientDataJSON, e.g. 'http://localhost:3000'. */
  origin: string;
  /** RP ID used when the server's options name none. Default: the origin's hostname. */
  rpId?: string;
  /** 16-byte AAGUID reported at registration. Default: all zeros, as browsers send with "none" attestation. */
  aaguid?: Uint8Array;
  /** Set the UV flag (the user passed a PIN or biometric). Default true. */
  userVerification?: boolean;
  /** BE flag: the credential may be synced (a multi-device passkey). Default false. */
  backupEligible?: boolean;
  /** BS flag: the credential is backed up now. Default: the same as `backupEligible`. */
  backedUp?: boolean;
  /** Always report signCount 0, as synced passkeys do. Default false: the counter goes up by 1 per assertion. */
  zeroCounter?: boolean;
}

/** A credential the authenticator holds. `credentials` and `importCredential` work on copies. */
export interface StoredCredential {
  /** Credential id, base64url. */
  id: string;
  rpId: string;
  /** `user.id` from the creation options (base64url): returned as `userHandle` in assertions. */
  userHandle: string;
  /** The signature counter of the last response. */
  counter: number;
  privateKey: KeyObject;
  /** The COSE_Key registered with the server (as stored by verifyRegistrationResponse). */
  publicKeyCose: Uint8Array;
}

/** Malformed variants shared by both ceremonies. Unset fields keep the honest value. */
export interface CeremonyTamper {
  /** clientDataJSON.origin (WA-04..06). */
  origin?: string;
  /** clientDataJSON.type, e.g. 'webauthn.get' in a registration (WA-02/03, WA-04..06). */
  type?: string;
  /** clientDataJSON.challenge, base64url (WA-02/03, WA-04..06). */
  challenge?: string;
  /** clientDataJSON.crossOrigin (WA-04..06). */
  crossOrigin?: boolean;
  /** clientDataJSON.topOrigin, added only when set (WA-04..06). */
  topOrigin?: string;
  /** Hash this RP ID into authenticatorData instead of the real one (WebAuthn #sctn-authenticator-data). */
  rpIdHashOf?: string;
  /** UP flag (WA-07). Default true. */
  userPresent?: boolean;
  /** UV flag (WA-07). Default: the authenticator's `userVerification`. */
  userVerified?: boolean;
  /** BE flag (WA-08). */
  backupEligible?: boolean;
  /** BS flag (WA-08): BS without BE is impossible for a real authenticator. */
  backedUp?: boolean;
  /** signCount to report; the credential's counter continues from it (WA-11). */
  counter?: number;
  /** Claim this credential id: a fresh key under another id at registration (WA-12), another id on an assertion (WA-13). */
  credentialId?: string;
}

export interface RegistrationTamper extends CeremonyTamper {
  /** COSE alg label on the public key, e.g. -8 or -257 (WA-08..10); the key stays P-256, so only -7 is signable. */
  alg?: number;
}

export interface AuthenticationTamper extends CeremonyTamper {
  /** Flip a bit of the DER signature (WA-08..10). */
  badSignature?: boolean;
  /** userHandle to report; `null` leaves it out (WA-13). */
  userHandle?: string | null;
}

export interface SoftwareAuthenticator {
  /** Copies of the credentials held, oldest first. */
  readonly credentials: readonly StoredCredential[];
  /** A registration response ("none" attestation) for the options the server sent; the credential is discoverable. */
  register(options: PublicKeyCredentialCreationOptionsJSON, tamper?: RegistrationTamper): RegistrationResponseJSON;
  /**
   * An assertion: with a non-empty allowCredentials, the first listed credential held; otherwise the newest
   * credential for the RP ID (usernameless). The userHandle is included.
   */
  authenticate(options: PublicKeyCredentialRequestOptionsJSON, tamper?: AuthenticationTamper): AuthenticationResponseJSON;
  /** Hold a copy of another authenticator's credential: a stolen or cloned key (WA-11, WA-12). */
  importCredential(credential: StoredCredential): void;
}

/** WebAuthn #authdata-flags: bit 0 UP, bit 2 UV, bit 3 BE, bit 4 BS, bit 6 AT. */
const FLAG = { UP: 0x01, UV: 0x04, BE: 0x08, BS: 0x10, AT: 0x40 } as const;

function sha256(data: Uint8Array | string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(createHash('sha256').update(data).digest());
}

function uint(value: number, bytes: 2 | 4): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(bytes);
  const view = new DataView(out.buffer);
  if (bytes === 2) view.setUint16(0, value, false);
  else view.setUint32(0, value, false);
  return out;
}

/** WebAuthn #sctn-attested-credential-data: the EC2 COSE_Key {1: 2, 3: alg, -1: 1, -2: x, -3: y}. */
function coseKey(publicKey: KeyObject, alg: number): Uint8Array<ArrayBuffer> {
  const { x, y } = publicKey.export({ format: 'jwk' });
  if (x === undefined || y === undefined) throw new TypeError('Expected an EC public key');
  const map = new Map<number, number | Uint8Array>([
    [cose.COSEKEYS.kty, cose.COSEKTY.EC2],
    [cose.COSEKEYS.alg, alg],
    [cose.COSEKEYS.crv, cose.COSECRV.P256],
    [cose.COSEKEYS.x, isoBase64URL.toBuffer(x)],
    [cose.COSEKEYS.y, isoBase64URL.toBuffer(y)],
  ]);
  return new Uint8Array(isoCBOR.encode(map));
}

/** WebAuthn #dictionary-client-data: what the browser hashes; crossOrigin is always present, topOrigin only when set. */
function clientData(type: string, challenge: string, origin: string, t: CeremonyTamper): Uint8Array<ArrayBuffer> {
  const data: Record<string, string | boolean> = {
    type: t.type ?? type,
    challenge: t.challenge ?? challenge,
    origin: t.origin ?? origin,
    crossOrigin: t.crossOrigin ?? false,
  };
  if (t.topOrigin !== undefined) data.topOrigin = t.topOrigin;
  return isoUint8Array.fromUTF8String(JSON.stringify(data));
}

/** DOMException with the name a browser uses, so tests match what a real page would see. */
function refuse(message: string, name: 'InvalidStateError' | 'NotAllowedError' | 'NotSupportedError' | 'SecurityError'): never {
  throw new DOMException(message, name);
}

/** The PublicKeyCredential fields around every response, as a platform authenticator sends them. */
function envelope(id: string) {
  return { id, rawId: id, type: 'public-key' as const, authenticatorAttachment: 'platform' as const, clientExtensionResults: {} };
}

export function createSoftwareAuthenticator(options: SoftwareAuthenticatorOptions): SoftwareAuthenticator {
  const host = new URL(options.origin).hostname;
  const aaguid = options.aaguid ?? new Uint8Array(16);
  if (aaguid.length !== 16) throw new RangeError('aaguid must be 16 bytes');
  const backupEligible = options.backupEligible ?? false;
  const held: StoredCredential[] = [];

  /** Browser check (WebAuthn #sctn-createCredential): the RP ID is the origin's host or a parent domain of it. */
  function rpIdFor(requested: string | undefined): string {
    const rpId = requested ?? options.rpId ?? host;
    if (host !== rpId && !host.endsWith(`.${rpId}`)) refuse(`RP ID "${rpId}" is not valid for ${options.origin}`, 'SecurityError');
    return rpId;
  }

  /** WebAuthn #sctn-authenticator-data: rpIdHash(32) || flags(1) || signCount(4, big-endian) || attestedCredentialData. */
  function authData(rpId: string, t: CeremonyTamper, counter: number, attested?: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> {
    const flags =
      ((t.userPresent ?? true) ? FLAG.UP : 0) |
      ((t.userVerified ?? options.userVerification ?? true) ? FLAG.UV : 0) |
      ((t.backupEligible ?? backupEligible) ? FLAG.BE : 0) |
      ((t.backedUp ?? options.backedUp ?? backupEligible) ? FLAG.BS : 0) |
      (attested ? FLAG.AT : 0);
    const parts = [sha256(t.rpIdHashOf ?? rpId), Uint8Array.of(flags), uint(counter, 4)];
    return isoUint8Array.concat(attested ? [...parts, attested] : parts);
  }

  /** WebAuthn #sctn-sign-counter: +1 per signature unless the authenticator keeps no counter; a tamper sets it (WA-11). */
  function nextCounter(credential: StoredCredential, t: CeremonyTamper, isRegistration: boolean): number {
    if (t.counter !== undefined) credential.counter = t.counter;
    else if (!isRegistration && !options.zeroCounter) credential.counter += 1;
    return credential.counter;
  }

  function hold(credential: StoredCredential): void {
    // A discoverable credential replaces the one held for the same RP and user (WebAuthn #sctn-op-make-cred).
    const stale = (c: StoredCredential) => c.id === credential.id || (c.rpId === credential.rpId && c.userHandle === credential.userHandle);
    for (let i = held.length - 1; i >= 0; i--) if (stale(held[i] as StoredCredential)) held.splice(i, 1);
    held.push(credential);
  }

  function register(creation: PublicKeyCredentialCreationOptionsJSON, t: RegistrationTamper = {}): RegistrationResponseJSON {
    const rpId = rpIdFor(creation.rp.id);
    // WebAuthn #sctn-op-make-cred: refuse to create a second credential on an authenticator listed in excludeCredentials.
    if (creation.excludeCredentials?.some((d) => held.some((c) => c.id === d.id && c.rpId === rpId))) {
      refuse('The authenticator already holds an excluded credential', 'InvalidStateError');
    }
    const params = creation.pubKeyCredParams;
    if (t.alg === undefined && params.length > 0 && !params.some((p) => p.alg === cose.COSEALG.ES256)) {
      refuse('Only ES256 (-7) is supported', 'NotSupportedError');
    }
    const alg = t.alg ?? cose.COSEALG.ES256;
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const id = t.credentialId ?? isoBase64URL.fromBuffer(new Uint8Array(randomBytes(16)));
    const idBytes = isoBase64URL.toBuffer(id);
    const publicKeyCose = coseKey(publicKey, alg);
    const credential: StoredCredential = { id, rpId, userHandle: creation.user.id, counter: 0, privateKey, publicKeyCose };
    const counter = nextCounter(credential, t, true);
    const attested = isoUint8Array.concat([new Uint8Array(aaguid), uint(idBytes.length, 2), idBytes, publicKeyCose]);
    const data = authData(rpId, t, counter, attested);
    // WebAuthn #sctn-none-attestation: fmt "none" with an empty attStmt.
    const attestationObject = isoCBOR.encode(
      new Map<string, string | Map<string, string> | Uint8Array>([
        ['fmt', 'none'],
        ['attStmt', new Map<string, string>()],
        ['authData', data],
      ]),
    );
    hold(credential);
    return {
      ...envelope(id),
      response: {
        clientDataJSON: isoBase64URL.fromBuffer(clientData('webauthn.create', creation.challenge, options.origin, t)),
        attestationObject: isoBase64URL.fromBuffer(attestationObject),
        authenticatorData: isoBase64URL.fromBuffer(data),
        transports: ['internal'],
        publicKeyAlgorithm: alg,
        publicKey: isoBase64URL.fromBuffer(new Uint8Array(publicKey.export({ type: 'spki', format: 'der' }))),
      },
    };
  }

  function authenticate(request: PublicKeyCredentialRequestOptionsJSON, t: AuthenticationTamper = {}): AuthenticationResponseJSON {
    const rpId = rpIdFor(request.rpId);
    const mine = held.filter((c) => c.rpId === rpId);
    const allowed = request.allowCredentials ?? [];
    const credential =
      allowed.length > 0
        ? allowed.map((d) => mine.find((c) => c.id === d.id)).find((c) => c !== undefined)
        : mine[mine.length - 1];
    if (credential === undefined) return refuse(`No credential for RP ID "${rpId}"`, 'NotAllowedError');
    const data = authData(rpId, t, nextCounter(credential, t, false));
    const client = clientData('webauthn.get', request.challenge, options.origin, t);
    // WebAuthn #sctn-op-get-assertion: sign authenticatorData || SHA-256(clientDataJSON);
    // #sctn-signature-attestation-types: ES256 signatures are ASN.1 DER, node:crypto's default encoding.
    const signature = new Uint8Array(sign('sha256', isoUint8Array.concat([data, sha256(client)]), credential.privateKey));
    const last = signature.length - 1;
    if (t.badSignature) signature[last] = (signature[last] ?? 0) ^ 0x01; // WA-08..10: still well-formed DER, wrong value
    const id = t.credentialId ?? credential.id;
    const userHandle = t.userHandle === undefined ? credential.userHandle : t.userHandle;
    return {
      ...envelope(id),
      response: {
        clientDataJSON: isoBase64URL.fromBuffer(client),
        authenticatorData: isoBase64URL.fromBuffer(data),
        signature: isoBase64URL.fromBuffer(signature),
        ...(userHandle === null ? {} : { userHandle }),
      },
    };
  }

  return {
    get credentials() {
      return held.map((c) => ({ ...c, publicKeyCose: c.publicKeyCose.slice() }));
    },
    register,
    authenticate,
    importCredential(credential) {
      hold({ ...credential, publicKeyCose: credential.publicKeyCose.slice() });
    },
  };
}
