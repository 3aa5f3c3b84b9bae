import { signUpWithPasskey } from 'gatehouse/client';
import { api, find, isCode, nextOf, onFormSubmit, page, say, showError } from './dom.js';

/** Create an account: email and name, then the browser creates the passkey and the server signs the browser in. */
onFormSubmit('sign-up', async (form, status) => {
  const email = find('#email', HTMLInputElement, form).value.trim();
  const name = find('#name', HTMLInputElement, form).value.trim();
  say(status, 'info', 'Follow your browser’s prompt to create the passkey…');
  try {
    await signUpWithPasskey({ ...api, email, name });
    say(status, 'ok', 'Account created.');
    location.assign(nextOf(form));
  } catch (error) {
    if (isCode(error, 'CANCELLED')) say(status, 'info', 'No passkey was created, so no account either. Try again when you are ready.');
    // The server answers a taken email exactly like any other failed sign-up (ENUM-02), so the
    // page names the likely cause for every failure alike, and the way out.
    else if (isCode(error, 'PASSKEY_VERIFICATION_FAILED')) {
      say(status, 'error', 'The account could not be created. If this email already has an account, ', link('/sign-in', 'sign in'), ' with its passkey or ', link('/recover', 'use a recovery code'), '. The passkey your device just made for this attempt is not used; you can delete it in your device’s passkey settings.');
    } else showError(status, error);
  }
});

function link(path: string, text: string): HTMLAnchorElement {
  const a = document.createElement('a');
  a.href = `${page.basePath}${path}`;
  a.textContent = text;
  return a;
}
