import { signUpWithPasskey } from 'gatehouse/client';
import { api, find, isCode, nextOf, onFormSubmit, say, showError } from './dom.js';

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
    else showError(status, error);
  }
});
