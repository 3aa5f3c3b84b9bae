import { signInWithPasskey } from 'gatehouse/client';
import { api, busy, find, isCode, nextOf, say, showError } from './dom.js';

/**
 * Sign in: passkeys in the email field's autofill (conditional mediation) from page load, and a
 * button for a usernameless sign-in. The button ends the pending autofill request first: a
 * browser runs one WebAuthn request at a time.
 */
const form = find('form[data-form="sign-in"]', HTMLFormElement);
const email = find('#email', HTMLInputElement, form);
const button = find('button[type="submit"]', HTMLButtonElement, form);
const status = find('[role=status]', HTMLElement, form);

let autofill: AbortController | undefined;

async function startAutofill(): Promise<void> {
  autofill = new AbortController();
  try {
    await signInWithPasskey({ ...api, autofill: true, signal: autofill.signal });
    say(status, 'ok', 'Signed in.');
    location.assign(nextOf(form));
  } catch (error) {
    // CANCELLED: the button took over. UNSUPPORTED: no autofill in this browser; the button still works.
    if (isCode(error, 'CANCELLED', 'UNSUPPORTED')) return;
    showError(status, error);
  }
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  autofill?.abort();
  void busy(button, async () => {
    say(status, 'info', 'Waiting for your passkey…');
    try {
      await signInWithPasskey({ ...api, email: email.value.trim() || undefined });
      say(status, 'ok', 'Signed in.');
      location.assign(nextOf(form));
    } catch (error) {
      if (isCode(error, 'CANCELLED')) say(status, 'info', 'Sign-in was cancelled. Try again when you are ready.');
      else showError(status, error);
      void startAutofill();
    }
  });
});

void startAutofill();
