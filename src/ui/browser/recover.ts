import { signInWithRecoveryCode } from 'gatehouse/client';
import { api, find, nextOf, onFormSubmit, say, showError } from './dom.js';

/** Recovery: email and a recovery code; then the account page asks for a new passkey. */
onFormSubmit('recover', async (form, status) => {
  const email = find('#email', HTMLInputElement, form).value.trim();
  const code = find('#code', HTMLInputElement, form);
  try {
    await signInWithRecoveryCode({ ...api, email, code: code.value.trim() });
    say(status, 'ok', 'Signed in. Opening your account…');
    location.assign(nextOf(form));
  } catch (error) {
    showError(status, error);
    code.select();
  }
});
