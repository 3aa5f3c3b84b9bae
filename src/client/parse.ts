import type { PublicKeyCredentialCreationOptionsJSON, PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/browser';
import { badResponse, isRecord } from './http.js';

/**
 * The server's JSON, checked with `typeof` guards before use (no casts): a proxy error page
 * or a different server version fails here with BAD_RESPONSE instead of deep inside a ceremony.
 */

export interface SignedInUser {
  id: string;
  email: string;
  name: string;
  role: string;
}

export interface SignedInSession {
  id: string;
  createdAt: string;
  expiresAt: string;
}

export interface SignInResult {
  user: SignedInUser;
  session: SignedInSession;
  /** What the app should offer next; after a recovery-code sign-in: `register-passkey`. */
  next: string | null;
}

export interface PasskeyInfo {
  id: string;
  name: string;
  /** ISO 8601. */
  createdAt: string;
  lastUsedAt: string | null;
  /** `multiDevice`: a synced passkey (password manager, cloud keychain); `singleDevice`: bound to one authenticator. */
  deviceType: 'singleDevice' | 'multiDevice';
  backedUp: boolean;
  transports: string[];
  aaguid: string;
}

const isString = (v: unknown): v is string => typeof v === 'string';

function str(o: Record<string, unknown>, key: string, what: string): string {
  const v = o[key];
  if (!isString(v)) throw badResponse(what);
  return v;
}

export function parseUser(body: unknown): SignedInUser {
  if (!isRecord(body) || !isRecord(body.user)) throw badResponse('user');
  const { user } = body;
  return { id: str(user, 'id', 'user'), email: str(user, 'email', 'user'), name: str(user, 'name', 'user'), role: str(user, 'role', 'user') };
}

export function parseSignIn(body: unknown): SignInResult {
  if (!isRecord(body) || !isRecord(body.user) || !isRecord(body.session)) throw badResponse('sign-in');
  const { user, session } = body;
  return {
    user: { id: str(user, 'id', 'user'), email: str(user, 'email', 'user'), name: str(user, 'name', 'user'), role: str(user, 'role', 'user') },
    session: { id: str(session, 'id', 'session'), createdAt: str(session, 'createdAt', 'session'), expiresAt: str(session, 'expiresAt', 'session') },
    next: isString(body.next) ? body.next : null,
  };
}

export function parsePasskey(value: unknown): PasskeyInfo {
  if (!isRecord(value)) throw badResponse('passkey');
  const { deviceType, lastUsedAt, transports } = value;
  if (deviceType !== 'singleDevice' && deviceType !== 'multiDevice') throw badResponse('passkey');
  if (lastUsedAt !== null && !isString(lastUsedAt)) throw badResponse('passkey');
  return {
    id: str(value, 'id', 'passkey'),
    name: str(value, 'name', 'passkey'),
    createdAt: str(value, 'createdAt', 'passkey'),
    lastUsedAt,
    deviceType,
    backedUp: value.backedUp === true,
    transports: Array.isArray(transports) ? transports.filter(isString) : [],
    aaguid: str(value, 'aaguid', 'passkey'),
  };
}

export function parsePasskeyList(body: unknown): PasskeyInfo[] {
  if (!isRecord(body) || !Array.isArray(body.passkeys)) throw badResponse('passkeys');
  return body.passkeys.map(parsePasskey);
}

export function parseCodes(body: unknown): string[] {
  if (!isRecord(body) || !Array.isArray(body.codes) || !body.codes.every(isString)) throw badResponse('recovery codes');
  return body.codes;
}

/** Enough of the creation options to hand them to the browser; the browser checks the rest. */
export function isCreationOptions(value: unknown): value is PublicKeyCredentialCreationOptionsJSON {
  return (
    isRecord(value) &&
    isString(value.challenge) &&
    isRecord(value.rp) &&
    isString(value.rp.name) &&
    isRecord(value.user) &&
    isString(value.user.id) &&
    isString(value.user.name) &&
    isString(value.user.displayName) &&
    Array.isArray(value.pubKeyCredParams)
  );
}

export function isRequestOptions(value: unknown): value is PublicKeyCredentialRequestOptionsJSON {
  return isRecord(value) && isString(value.challenge);
}
