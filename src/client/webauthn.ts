import {
  browserSupportsWebAuthn,
  browserSupportsWebAuthnAutofill,
  startAuthentication,
  startRegistration,
  WebAuthnAbortService,
  type AuthenticationResponseJSON,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/browser';
import { GatehouseClientError } from './errors.js';
import { hasName } from './http.js';

/** Throws UNSUPPORTED before any request is made when this browser has no WebAuthn. */
export function requireWebAuthn(): void {
  if (!browserSupportsWebAuthn()) {
    throw new GatehouseClientError('UNSUPPORTED', 'This browser cannot use passkeys. Use an up-to-date browser, or sign in with a recovery code.');
  }
}

/** Throws UNSUPPORTED when the browser cannot offer passkeys in an input's autofill (conditional mediation). */
export async function requireAutofill(): Promise<void> {
  requireWebAuthn();
  if (!(await browserSupportsWebAuthnAutofill())) {
    throw new GatehouseClientError('UNSUPPORTED', 'This browser does not offer passkeys in autofill. Use the passkey button instead.');
  }
}

export function cancelled(cause?: unknown): GatehouseClientError {
  return new GatehouseClientError('CANCELLED', 'The passkey request was cancelled or timed out.', { cause });
}

/** Maps what navigator.credentials (through SimpleWebAuthn) throws to a stable code. */
function toClientError(error: unknown, ceremony: 'create' | 'get'): GatehouseClientError {
  if (error instanceof GatehouseClientError) return error;
  // WebAuthn L3 5.1.3/5.1.4: the browser answers NotAllowedError for "the user cancelled" and
  // "it timed out" alike, on purpose (no probing for credentials); AbortError is our own abort.
  // SimpleWebAuthn's WebAuthnError keeps the DOMException's name.
  if (hasName(error, 'NotAllowedError', 'AbortError')) return cancelled(error);
  if (ceremony === 'create' && hasName(error, 'InvalidStateError')) {
    return new GatehouseClientError('ALREADY_REGISTERED', 'This device already has a passkey for your account. Use another device or password manager.', { cause: error });
  }
  const detail = error instanceof Error && error.message !== '' ? ` (${error.message})` : '';
  return new GatehouseClientError('AUTHENTICATOR_ERROR', `The browser could not complete the passkey request${detail}.`, { cause: error });
}

/**
 * SimpleWebAuthn runs one ceremony at a time and aborts the previous one when a new one
 * starts (a button click ends a pending autofill request). `signal` cancels ours, and only
 * while it is still the running one, so aborting a stale request never ends a newer one.
 */
let running = 0;

/** The id of the WebAuthn request started last through this module (a newer one ends the older ones). */
export function latestCeremony(): number {
  return running;
}

/** Ends request `id` if it is still the running one: a newer request has ended it otherwise, and must not be. */
export function endCeremony(id: number): void {
  if (running === id) WebAuthnAbortService.cancelCeremony();
}

async function withSignal<T>(signal: AbortSignal | undefined, ceremony: 'create' | 'get', run: () => Promise<T>): Promise<T> {
  if (signal?.aborted) throw cancelled(signal.reason);
  const id = ++running;
  const onAbort = () => {
    if (running === id) WebAuthnAbortService.cancelCeremony();
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    return await run();
  } catch (error) {
    throw toClientError(error, ceremony);
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

export function createCredential(optionsJSON: PublicKeyCredentialCreationOptionsJSON, signal?: AbortSignal): Promise<RegistrationResponseJSON> {
  return withSignal(signal, 'create', () => startRegistration({ optionsJSON }));
}

export function getAssertion(optionsJSON: PublicKeyCredentialRequestOptionsJSON, autofill: boolean, signal?: AbortSignal): Promise<AuthenticationResponseJSON> {
  return withSignal(signal, 'get', () => startAuthentication({ optionsJSON, useBrowserAutofill: autofill }));
}
