import { oauthErrorMessage } from '../../oauth/messages.js';
import { safeReturnPath } from '../../oauth/return-path.js';
import { html, type SafeHtml } from '../html.js';
import type { PageKit, Viewer } from '../layout.js';

/**
 * The signed-out pages: sign in, create an account, recover. Each is a plain form; its script
 * (src/ui/browser/) runs the passkey ceremony with gatehouse/client and reports errors in the
 * form's live region. Provider sign-in is a plain link and works without JavaScript.
 */

export interface ProviderButton {
  id: string;
  name: string;
}

const noScript = html`<noscript><div class="card banner error"><p>Passkeys need JavaScript. Turn it on for this site to continue.</p></div></noscript>`;

function signedInNote(kit: PageKit, viewer: Viewer | null): SafeHtml | string {
  if (viewer === null) return '';
  return html`<div class="card banner" role="note"><p>You are signed in as <strong>${viewer.found.user.email}</strong>. Signing in again starts a new
session (and makes it fresh for actions that need a recent sign-in). <a href="${kit.basePath}/account">Go to your account</a>.</p></div>`;
}

/** A failed provider sign-in comes back as `?error=CODE`; the code is all the URL carries. */
export function errorBanner(code: string | null): SafeHtml | string {
  const text = oauthErrorMessage(code);
  return text === null ? '' : html`<div class="card banner error" role="alert"><p>${text}</p></div>`;
}

function providerLinks(kit: PageKit, providers: readonly ProviderButton[], next: string, verb: string): SafeHtml | string {
  if (providers.length === 0) return '';
  return html`<div class="stack" role="group" aria-label="${verb} with a provider">
${providers.map((p) => html`<a class="button secondary wide" href="${kit.basePath}/oauth/${encodeURIComponent(p.id)}?returnTo=${encodeURIComponent(next)}" data-provider="${p.id}">${verb} with ${p.name}</a>`)}
</div>
<p class="divider">or</p>`;
}

export function signInPage(kit: PageKit, viewer: Viewer | null, providers: readonly ProviderButton[], query: URLSearchParams): Response {
  const next = safeReturnPath(query.get('next'), kit.ui.afterSignInPath);
  const b = kit.basePath;
  return kit.page(viewer, {
    title: 'Sign in',
    narrow: true,
    current: 'sign-in',
    script: 'sign-in',
    body: html`<h1>Sign in</h1>
${errorBanner(query.get('error'))}${noScript}${signedInNote(kit, viewer)}
<div class="card">
${providerLinks(kit, providers, next, 'Sign in')}
<form data-form="sign-in" data-next="${next}" novalidate>
  <label for="email">Email <span class="muted">(optional)</span></label>
  <input id="email" name="email" type="email" autocomplete="username webauthn" autocapitalize="off" spellcheck="false" maxlength="320" aria-describedby="email-hint">
  <p id="email-hint" class="hint muted">Choose this field and your browser can offer your passkey, or just press the button.</p>
  <button type="submit" class="wide">Sign in with a passkey</button>
  <p role="status" aria-live="polite"></p>
</form>
</div>
<p>New here? <a href="${b}/sign-up${next === kit.ui.afterSignInPath ? '' : `?next=${encodeURIComponent(next)}`}">Create an account</a></p>
<p>Lost your passkeys? <a href="${b}/recover">Sign in with a recovery code</a></p>`,
  });
}

export function signUpPage(kit: PageKit, viewer: Viewer | null, providers: readonly ProviderButton[], query: URLSearchParams): Response {
  const next = safeReturnPath(query.get('next'), `${kit.basePath}/account?welcome=1`);
  return kit.page(viewer, {
    title: 'Create an account',
    narrow: true,
    current: 'sign-up',
    script: 'sign-up',
    body: html`<h1>Create an account</h1>
${noScript}${signedInNote(kit, viewer)}
<div class="card">
${providerLinks(kit, providers, next, 'Continue')}
<form data-form="sign-up" data-next="${next}">
  <label for="email">Email</label>
  <input id="email" name="email" type="email" required autocomplete="username" autocapitalize="off" spellcheck="false" maxlength="320">
  <label for="name">Your name</label>
  <input id="name" name="name" required autocomplete="name" maxlength="100">
  <p class="hint muted">No password: your device creates a passkey that you unlock with your fingerprint, face or screen lock.</p>
  <button type="submit" class="wide">Create account with a passkey</button>
  <p role="status" aria-live="polite"></p>
</form>
</div>
<p>Already have an account? <a href="${kit.basePath}/sign-in">Sign in</a></p>`,
  });
}

export function recoverPage(kit: PageKit, viewer: Viewer | null): Response {
  return kit.page(viewer, {
    title: 'Recover your account',
    narrow: true,
    script: 'recover',
    body: html`<h1>Sign in with a recovery code</h1>
${noScript}
<form class="card" data-form="recover" data-next="${kit.basePath}/account?recovered=1">
  <p>Lost every passkey? Enter your email and one of the recovery codes you saved. Each code works once,
    and signing in this way signs out all your other devices.</p>
  <label for="email">Email</label>
  <input id="email" name="email" type="email" required autocomplete="username" autocapitalize="off" spellcheck="false" maxlength="320">
  <label for="code">Recovery code</label>
  <input id="code" name="code" required autocomplete="one-time-code" autocapitalize="characters" spellcheck="false" maxlength="64" aria-describedby="code-hint">
  <p id="code-hint" class="hint muted">Like <code>ABCDE-FGH23</code>. Case, spaces and dashes do not matter.</p>
  <button type="submit" class="wide">Sign in with recovery code</button>
  <p role="status" aria-live="polite"></p>
</form>
<p>Found your passkey? <a href="${kit.basePath}/sign-in">Sign in</a></p>`,
  });
}
