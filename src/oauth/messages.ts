/**
 * What to tell a person whose provider sign-in ended on `errorPath?error=CODE`. The code is
 * all the redirect carries (no details in URLs); pages look the words up here.
 */
export const OAUTH_ERROR_MESSAGES: Readonly<Record<string, string>> = {
  OAUTH_ACCESS_DENIED: 'Sign-in was cancelled at the provider. Nothing changed.',
  OAUTH_ACCOUNT_EXISTS: 'An account with this email already exists. Sign in the way you usually do, then link this provider from your account page.',
  OAUTH_EMAIL_NOT_VERIFIED: 'The provider did not confirm your email address, so no account was created. Verify your email there, or sign up with a passkey.',
  OAUTH_IDENTITY_TAKEN: 'That provider account is already linked to another account.',
  OAUTH_LINK_SESSION_CHANGED: 'You were no longer signed in as the account that asked to link. Sign in and try again.',
  OAUTH_STATE_INVALID: 'That sign-in link expired, was already used, or was opened in another browser. Start again.',
  OAUTH_PROVIDER_MISMATCH: 'The answer came from a different provider than the one you chose. Start again.',
  OAUTH_PROVIDER_UNAVAILABLE: 'The provider could not be reached. Try again in a moment.',
  OAUTH_PROVIDER_ERROR: 'The provider refused the sign-in. Try again.',
  OAUTH_INVALID_RESPONSE: 'The provider’s answer failed our security checks, so you were not signed in. Try again.',
  ACCOUNT_DISABLED: 'This account is disabled.',
  RATE_LIMITED: 'Too many attempts. Wait a minute and try again.',
};

/** The message for an error code from a provider sign-in, with a safe fallback for anything else. */
export function oauthErrorMessage(code: string | null | undefined): string | null {
  if (code === null || code === undefined || code === '') return null;
  // Own keys only: `?error=toString` must not find Object.prototype's function.
  return Object.hasOwn(OAUTH_ERROR_MESSAGES, code) ? OAUTH_ERROR_MESSAGES[code]! : 'Sign-in with the provider failed. Try again.';
}
