import type { AuthenticationResponseJSON, PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/browser';
import { GatehouseClientError } from './errors.js';
import { badResponse, callApi, isRecord, type ClientOptions } from './http.js';
import { isCreationOptions, isRequestOptions, parsePasskey, parseSignIn, type PasskeyInfo, type SignInResult } from './parse.js';
import { cancelled, createCredential, endCeremony, getAssertion, latestCeremony, requireAutofill, requireWebAuthn } from './webauthn.js';

/**
 * The three passkey ceremonies: each asks the server for options, runs the browser's
 * WebAuthn dialog through @simplewebauthn/browser, and sends the answer back. The
 * challenge stays on the server, bound to this browser by an HttpOnly cookie; on success
 * the server sets the session cookie. No token is ever visible to this code.
 */

export interface SignUpWithPasskeyOptions extends ClientOptions {
  email: string;
  /** The person's name, shown in the account and by the authenticator. */
  name: string;
}

export interface SignInWithPasskeyOptions extends ClientOptions {
  /**
   * Conditional mediation: the browser offers passkeys in the autofill of an
   * `<input autocomplete="username webauthn">` on the page, and this call resolves when the
   * user picks one. Start it on page load; a later button call ends it (CANCELLED).
   */
  autofill?: boolean;
  /** An optional hint; the server answers the same whether or not it names an account. */
  email?: string;
}

export interface AddPasskeyOptions extends ClientOptions {
  /** A label for the new passkey; the server picks one from its type when absent. */
  name?: string;
}

/** Creates an account and its first passkey; the browser is signed in afterwards. */
export async function signUpWithPasskey(options: SignUpWithPasskeyOptions): Promise<SignInResult> {
  requireWebAuthn();
  const { basePath, signal } = options;
  const optionsJSON = await callApi('POST', '/passkeys/register/options', { basePath, signal, body: { email: options.email, name: options.name } });
  if (!isCreationOptions(optionsJSON)) throw badResponse('registration options');
  const response = await createCredential(optionsJSON, signal);
  return parseSignIn(await callApi('POST', '/passkeys/register/verify', { basePath, body: { response } }));
}

/** Signs in with any passkey of this site: a dialog (button), or the autofill of the email field. */
export async function signInWithPasskey(options: SignInWithPasskeyOptions = {}): Promise<SignInResult> {
  const { basePath, signal } = options;
  const autofill = options.autofill === true;
  if (autofill) await requireAutofill();
  else requireWebAuthn();
  const email = options.email?.trim();
  const requestOptions = async (): Promise<PublicKeyCredentialRequestOptionsJSON> => {
    const optionsJSON = await callApi('POST', '/passkeys/login/options', { basePath, signal, body: email ? { email } : {} });
    if (!isRequestOptions(optionsJSON)) throw badResponse('sign-in options');
    if (signal?.aborted) throw cancelled(signal.reason);
    return optionsJSON;
  };
  const response = autofill ? await renewedAutofill(requestOptions, signal) : await getAssertion(await requestOptions(), false, signal);
  // Once the user has picked a passkey the sign-in completes, even if `signal` fires now.
  return parseSignIn(await callApi('POST', '/passkeys/login/verify', { basePath, body: { response } }));
}

/** How long before its challenge expires an autofill request is renewed. */
const RENEW_MARGIN_MS = 30_000;
/** The longest delay setTimeout takes. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** How often a waiting autofill request compares the wall clock with its renewal time (after a sleep). */
const WALL_CLOCK_CHECK_MS = 10_000;
/** The challenge lifetime to assume when the options carry no `timeout` (Gatehouse's default). */
const DEFAULT_CHALLENGE_MS = 5 * 60_000;

/** When to renew an autofill request whose options say `timeout`: 30 s before it ends, or halfway for a short one. */
export function autofillRenewalDelay(timeout: number | undefined): number {
  const lifetime = timeout !== undefined && Number.isFinite(timeout) && timeout > 0 ? timeout : DEFAULT_CHALLENGE_MS;
  // setTimeout fires at once past 2^31 - 1 ms (24.8 days): another server's huge timeout renewed in a loop.
  return Math.min(Math.max(lifetime - RENEW_MARGIN_MS, lifetime / 2), MAX_TIMER_MS);
}

/**
 * An autofill request waits for as long as the page stays open, but its challenge lives only
 * minutes on the server (`timeout` in the options): a passkey picked after that was refused
 * with CEREMONY_EXPIRED. So the request is renewed before then, with new options (the server
 * replaces this browser's pending ceremony) and a new conditional request.
 *
 * The waiting request is ended BEFORE the new options are asked for: left running meanwhile, a
 * passkey picked during that fetch answered a challenge the new options replace, and was dropped
 * (or, with the fetch failing, the request went on offering passkeys that nothing listened to).
 * One picked just as the renewal starts is used. A request another call started meanwhile (the
 * passkey button) is never ended by the renewal: the autofill call ends with CANCELLED instead.
 */
async function renewedAutofill(requestOptions: () => Promise<PublicKeyCredentialRequestOptionsJSON>, signal: AbortSignal | undefined): Promise<AuthenticationResponseJSON> {
  let renewed: number | undefined;
  for (;;) {
    const optionsJSON = renewed === undefined ? await requestOptions() : await renewalOptions(requestOptions, signal);
    // Another WebAuthn request started while the options were fetched: ours would end it.
    if (renewed !== undefined && latestCeremony() !== renewed) throw cancelled();
    let timer: ReturnType<typeof setTimeout> | undefined;
    let clock: ReturnType<typeof setInterval> | undefined;
    const renew = new Promise<null>((resolve) => {
      const delay = autofillRenewalDelay(optionsJSON.timeout);
      timer = setTimeout(() => resolve(null), delay);
      // Timers stand still while the computer sleeps (or the tab is frozen); the server's clock
      // does not. The wall clock says when a page that was asleep has outlived its challenge.
      const due = Date.now() + delay;
      clock = setInterval(() => {
        if (Date.now() >= due) resolve(null);
      }, WALL_CLOCK_CHECK_MS);
    });
    const pending = getAssertion(optionsJSON, true, signal);
    const mine = latestCeremony();
    try {
      const response = await Promise.race([pending, renew]);
      if (response !== null) return response;
    } finally {
      clearTimeout(timer);
      clearInterval(clock);
    }
    // A newer request has already ended this one: its CANCELLED (or a pick just made) is the answer.
    if (latestCeremony() !== mine) return await pending;
    endCeremony(mine);
    const picked = await pending.catch(() => null);
    if (picked !== null) return picked;
    renewed = mine;
  }
}

/** A renewal that could not get its options (offline, 429, 5xx) tries again after this long, or after Retry-After. */
const RENEW_RETRY_MS = 15_000;
const RENEW_RETRY_MAX_MS = 5 * 60_000;

/**
 * The options for a renewal. Only while the page is visible: a hidden tab cannot show autofill,
 * and renewing it would keep a pending ceremony alive on the server for as long as the tab stays
 * open (pending ceremonies are bounded per client IP, so twenty forgotten tabs behind one office
 * NAT would lock out the next person). Its request has been ended; it renews when shown again.
 * A renewal that fails for a passing reason (offline after a sleep, rate limited, the server
 * restarting) is retried quietly: the page is idle, and an error there would help nobody.
 */
async function renewalOptions(requestOptions: () => Promise<PublicKeyCredentialRequestOptionsJSON>, signal: AbortSignal | undefined): Promise<PublicKeyCredentialRequestOptionsJSON> {
  for (;;) {
    await whenVisible(signal);
    try {
      return await requestOptions();
    } catch (error) {
      if (!(error instanceof GatehouseClientError) || !isPassing(error)) throw error;
      const wait = error.retryAfterSeconds !== undefined ? error.retryAfterSeconds * 1000 : RENEW_RETRY_MS;
      await pause(Math.min(Math.max(wait, 1000), RENEW_RETRY_MAX_MS), signal);
    }
  }
}

function isPassing(error: GatehouseClientError): boolean {
  return error.code === 'NETWORK_ERROR' || error.status === 429 || (error.status !== undefined && error.status >= 500);
}

/** Resolves once the page is visible (at once outside a browser, or when it already is); CANCELLED when `signal` aborts. */
function whenVisible(signal: AbortSignal | undefined): Promise<void> {
  if (typeof document === 'undefined' || document.visibilityState !== 'hidden') return Promise.resolve();
  return waitFor(signal, (done) => {
    const onChange = () => {
      if (document.visibilityState !== 'hidden') done();
    };
    document.addEventListener('visibilitychange', onChange);
    return () => document.removeEventListener('visibilitychange', onChange);
  });
}

function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return waitFor(signal, (done) => {
    const timer = setTimeout(done, ms);
    return () => clearTimeout(timer);
  });
}

/** Waits for what `start` sets up (it returns its own cleanup); CANCELLED if `signal` aborts first. */
function waitFor(signal: AbortSignal | undefined, start: (done: () => void) => () => void): Promise<void> {
  if (signal?.aborted) return Promise.reject(cancelled(signal.reason));
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      stop();
      reject(cancelled(signal?.reason));
    };
    const stop = start(() => {
      signal?.removeEventListener('abort', onAbort);
      stop();
      resolve();
    });
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Adds a passkey to the signed-in account. The server wants a recent sign-in for this
 * (REAUTHENTICATION_REQUIRED otherwise): sign in again, then retry.
 */
export async function addPasskey(options: AddPasskeyOptions = {}): Promise<PasskeyInfo> {
  requireWebAuthn();
  const { basePath, signal } = options;
  const optionsJSON = await callApi('POST', '/passkeys/register/options', { basePath, signal, body: {} });
  if (!isCreationOptions(optionsJSON)) throw badResponse('registration options');
  const response = await createCredential(optionsJSON, signal);
  const name = options.name?.trim();
  const body = await callApi('POST', '/passkeys/register/verify', { basePath, body: name ? { response, name } : { response } });
  if (!isRecord(body)) throw badResponse('passkey');
  return parsePasskey(body.passkey);
}
