import { GatehouseClientError } from './errors.js';
import { badResponse, callApi, isRecord, type ClientOptions } from './http.js';
import { parseCodes, parsePasskey, parsePasskeyList, parseSignIn, parseUser, type PasskeyInfo, type SignedInSession, type SignedInUser, type SignInResult } from './parse.js';

export interface PasskeyIdOptions extends ClientOptions {
  id: string;
}

export interface RenamePasskeyOptions extends PasskeyIdOptions {
  name: string;
}

export interface SignInWithRecoveryCodeOptions extends ClientOptions {
  email: string;
  code: string;
}

export interface UpdateProfileOptions extends ClientOptions {
  /** The display name, at most 100 characters; an empty string clears it. */
  name: string;
}

const passkeyPath = (id: string) => `/passkeys/${encodeURIComponent(id)}`;

/** Changes the signed-in user's own display name; returns the user as stored. */
export async function updateProfile(options: UpdateProfileOptions): Promise<SignedInUser> {
  return parseUser(await callApi('PATCH', '/user', { basePath: options.basePath, signal: options.signal, body: { name: options.name } }));
}

/**
 * The signed-in user and session, or null when nobody is signed in (a 401). In JWT mode an
 * expired access token is refreshed first, once. Other failures (network, 5xx) throw.
 */
export async function getSession(options: ClientOptions = {}): Promise<{ user: SignedInUser; session: SignedInSession } | null> {
  let body: unknown;
  try {
    body = await callApi('GET', '/session', options);
  } catch (error) {
    if (error instanceof GatehouseClientError && error.status === 401) return null;
    throw error;
  }
  const { user, session } = parseSignIn(body);
  return { user, session };
}

/** The signed-in user's passkeys. */
export async function listPasskeys(options: ClientOptions = {}): Promise<PasskeyInfo[]> {
  return parsePasskeyList(await callApi('GET', '/passkeys', options));
}

export async function renamePasskey(options: RenamePasskeyOptions): Promise<PasskeyInfo> {
  const body = await callApi('PATCH', passkeyPath(options.id), { basePath: options.basePath, signal: options.signal, body: { name: options.name } });
  if (!isRecord(body)) throw badResponse('passkey');
  return parsePasskey(body.passkey);
}

/**
 * Deletes a passkey. Needs a recent sign-in; the server refuses to delete the last one
 * while no recovery codes exist (LAST_SIGN_IN_METHOD).
 */
export async function deletePasskey(options: PasskeyIdOptions): Promise<void> {
  await callApi('DELETE', passkeyPath(options.id), { basePath: options.basePath, signal: options.signal });
}

/**
 * Replaces the account's recovery codes with a new set and returns it. Show the codes
 * once: the server keeps only their hashes and can never show them again.
 */
export async function generateRecoveryCodes(options: ClientOptions = {}): Promise<string[]> {
  return parseCodes(await callApi('POST', '/recovery-codes', options));
}

/**
 * Signs in with a recovery code (each works once) after losing every passkey. Every other
 * session of the account ends; `next` is `register-passkey`: offer to add one now.
 */
export async function signInWithRecoveryCode(options: SignInWithRecoveryCodeOptions): Promise<SignInResult> {
  const body = { email: options.email, code: options.code };
  return parseSignIn(await callApi('POST', '/recovery/sign-in', { basePath: options.basePath, signal: options.signal, body }));
}

/** Ends every other session of the signed-in user (fresh session needed); returns how many ended. */
export async function signOutOtherDevices(options: ClientOptions = {}): Promise<number> {
  const body = await callApi('POST', '/sessions/revoke-others', options);
  const revoked = typeof body === 'object' && body !== null && 'revoked' in body ? Number(body.revoked) : 0;
  return Number.isFinite(revoked) ? revoked : 0;
}

/** Ends this browser's session on the server; the server clears the cookie. Safe to call twice. */
export async function signOut(options: ClientOptions = {}): Promise<void> {
  await callApi('POST', '/sign-out', options);
}

/** Ends one of the signed-in user's sessions (a device on the account page); 404 for another user's. */
export async function signOutDevice(options: { id: string } & ClientOptions): Promise<void> {
  await callApi('DELETE', `/sessions/${encodeURIComponent(options.id)}`, { basePath: options.basePath, signal: options.signal });
}
