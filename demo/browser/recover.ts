import { signInWithRecoveryCode } from 'gatehouse/client';
import { busy, find, say, showError } from './ui.js';

/** /recover: email and a recovery code; then the account page asks for a new passkey. */
const form = find('form[data-form="recover"]', HTMLFormElement);
const button = find('button[type="submit"]', HTMLButtonElement, form);
const status = find('[role=status]', HTMLElement, form);

form.addEventListener('submit', (event) => {
  event.preventDefault();
  if (!form.reportValidity()) return;
  const email = find('#email', HTMLInputElement, form).value.trim();
  const code = find('#code', HTMLInputElement, form);
  void busy(button, async () => {
    try {
      await signInWithRecoveryCode({ email, code: code.value.trim() });
      say(status, 'ok', 'Signed in. Opening your account…');
      location.assign('/account?recovered=1');
    } catch (error) {
      showError(status, error);
      code.select();
    }
  });
});
