/**
 * gatehouse/client: the browser side of Gatehouse's passkeys. Plain ES modules over
 * `fetch` and @simplewebauthn/browser; the session stays in the server's HttpOnly cookie.
 *
 * ```ts
 * import { signInWithPasskey, GatehouseClientError } from 'gatehouse/client';
 * try {
 *   await signInWithPasskey();
 *   location.assign('/account');
 * } catch (error) {
 *   if (error instanceof GatehouseClientError && error.code !== 'CANCELLED') show(error.message);
 * }
 * ```
 */
export { signUpWithPasskey, signInWithPasskey, addPasskey } from './ceremonies.js';
export type { SignUpWithPasskeyOptions, SignInWithPasskeyOptions, AddPasskeyOptions } from './ceremonies.js';
export { getSession, listPasskeys, renamePasskey, deletePasskey, generateRecoveryCodes, signInWithRecoveryCode, signOut, signOutDevice, signOutOtherDevices, updateProfile } from './manage.js';
export { updateUser, revokeUserSessions } from './admin.js';
export type { AdminUserOptions, UpdateUserOptions } from './admin.js';
export type { PasskeyIdOptions, RenamePasskeyOptions, SignInWithRecoveryCodeOptions, UpdateProfileOptions } from './manage.js';
export { listLinkedAccounts, linkProvider, unlinkAccount } from './accounts.js';
export type { LinkedAccount, LinkProviderOptions, AccountIdOptions } from './accounts.js';
export { authFetch, createAuthFetch, refreshSession } from './refresh.js';
export type { AuthFetchOptions } from './refresh.js';
export { GatehouseClientError } from './errors.js';
export type { ClientErrorCode, GatehouseClientErrorOptions } from './errors.js';
export type { ClientOptions } from './http.js';
export type { PasskeyInfo, SignInResult, SignedInUser, SignedInSession } from './parse.js';
export { browserSupportsWebAuthn, browserSupportsWebAuthnAutofill } from '@simplewebauthn/browser';
