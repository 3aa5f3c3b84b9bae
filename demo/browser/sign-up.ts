import { signUpWithPasskey } from 'gatehouse/client';
import { find, isCode, onFormSubmit, say, showError } from './ui.js';

/** /sign-up: email and name, then the browser creates the passkey; the server signs the browser in. */
onFormSubmit('sign-up', async (form, status) => {
  const email = find('#email', HTMLInputElement, form).value.trim();
  const name = find('#name', HTMLInputElement, form).value.trim();
  say(status, 'info', 'Follow your browser’s prompt to create the passkey…');
  try {
    await signUpWithPasskey({ email, name });
    say(status, 'ok', 'Account created. Opening your account…');
    location.assign('/account?welcome=1');
  } catch (error) {
    if (isCode(error, 'CANCELLED')) say(status, 'info', 'No passkey was created, so no account either. Try again when you are ready.');
    else showError(status, error);
  }
});
