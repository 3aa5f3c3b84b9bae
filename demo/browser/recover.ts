import { signInWithRecoveryCode } from 'gatehouse/client';
import { find, onFormSubmit, say, showError } from './ui.js';

/** /recover: email and a recovery code; then the account page asks for a new passkey. */
onFormSubmit('recover', async (form, status) => {
  const email = find('#email', HTMLInputElement, form).value.trim();
  const code = find('#code', HTMLInputElement, form);
  try {
    await signInWithRecoveryCode({ email, code: code.value.trim() });
    say(status, 'ok', 'Signed in. Opening your account…');
    location.assign('/account?recovered=1');
  } catch (error) {
    showError(status, error);
    code.select();
  }
});
