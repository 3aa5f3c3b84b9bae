import { html } from 'hono/html';
import { oauthErrorMessage, safeReturnPath, type SessionResult } from 'gatehouse';
import { layout, type Html } from './pages.js';

/**
 * The signed-out pages: sign in, sign up, recover. Each is a plain form; its module in
 * demo/browser/ runs the passkey ceremony with gatehouse/client and reports errors in the
 * form's live region. Without JavaScript the forms do nothing, and say so.
 */

const noScript = html`<noscript><p class="card">Passkeys need JavaScript. Turn it on for this site to continue.</p></noscript>`;

function signedInNote(auth: SessionResult | null): Html | string {
  return auth
    ? html`<p class="card muted">You are signed in as <strong>${auth.user.email}</strong>. Signing in again starts a new session
        (and a fresh one for actions that need a recent sign-in). <a href="/account">Go to your account</a>.</p>`
    : '';
}

/** A sign-in provider as the pages show it. */
export interface ProviderButton {
  id: string;
  name: string;
}

/** "Sign in with X" links: plain navigations to GET /auth/oauth/:id (no JavaScript needed). */
function providerButtons(providers: readonly ProviderButton[], next: string): Html | string {
  if (providers.length === 0) return '';
  return html`<div class="card providers" aria-label="Sign in with a provider">
${providers.map((p) => html`<a class="button" href="/auth/oauth/${p.id}?returnTo=${encodeURIComponent(next)}" data-provider="${p.id}">Sign in with ${p.name}</a>`)}
</div>
<p class="divider">or</p>`;
}

/** The error a provider sign-in came back with (`?error=CODE`), in words. */
export function errorBanner(code: string | undefined): Html | string {
  const message = oauthErrorMessage(code);
  return message === null ? '' : html`<div class="card error-banner" role="alert"><p>${message}</p></div>`;
}

export function signInPage(auth: SessionResult | null, providers: readonly ProviderButton[] = [], query: { error?: string; next?: string } = {}): Html {
  const next = safeReturnPath(query.next, '/account');
  return layout(
    'Sign in',
    auth,
    html`<h1>Sign in</h1>
${errorBanner(query.error)}${noScript}${signedInNote(auth)}
${providerButtons(providers, next)}
<form class="card" data-form="sign-in" novalidate>
  <label for="email">Email</label>
  <input id="email" name="email" type="email" autocomplete="username webauthn" autocapitalize="off" spellcheck="false" maxlength="320" aria-describedby="email-hint">
  <p id="email-hint" class="hint muted">Pick this field and your browser can offer your passkey. Or use the button: no need to type anything.</p>
  <button type="submit">Sign in with a passkey</button>
  <p role="status" aria-live="polite"></p>
</form>
<div class="card">
  <p>New here? <a href="/sign-up">Create an account</a>.</p>
  <p>Lost your passkeys? <a href="/recover">Sign in with a recovery code</a>.</p>
</div>`,
    'sign-in',
  );
}

export function signUpPage(auth: SessionResult | null): Html {
  return layout(
    'Create an account',
    auth,
    html`<h1>Create an account</h1>
${noScript}${signedInNote(auth)}
<form class="card" data-form="sign-up">
  <label for="email">Email</label>
  <input id="email" name="email" type="email" required autocomplete="username" autocapitalize="off" spellcheck="false" maxlength="320">
  <label for="name">Your name</label>
  <input id="name" name="name" required autocomplete="name" maxlength="100">
  <p class="hint muted">No password: your device creates a passkey that you unlock with your fingerprint, face or screen lock.</p>
  <button type="submit">Create account with a passkey</button>
  <p role="status" aria-live="polite"></p>
</form>
<p>Already have an account? <a href="/sign-in">Sign in</a>.</p>`,
    'sign-up',
  );
}

export function recoverPage(auth: SessionResult | null): Html {
  return layout(
    'Recover your account',
    auth,
    html`<h1>Sign in with a recovery code</h1>
${noScript}
<form class="card" data-form="recover">
  <p>Lost every passkey? Enter your email and one of the recovery codes you saved. Each code works once,
    and signing in this way signs out all your other devices.</p>
  <label for="email">Email</label>
  <input id="email" name="email" type="email" required autocomplete="username" autocapitalize="off" spellcheck="false" maxlength="320">
  <label for="code">Recovery code</label>
  <input id="code" name="code" required autocomplete="one-time-code" autocapitalize="characters" spellcheck="false" maxlength="64" aria-describedby="code-hint">
  <p id="code-hint" class="hint muted">Like <code>ABCDE-FGH23</code>. Case, spaces and dashes do not matter.</p>
  <button type="submit">Sign in with recovery code</button>
  <p role="status" aria-live="polite"></p>
</form>
<p>Found your passkey? <a href="/sign-in">Sign in</a>.</p>`,
    'recover',
  );
}
