import { signOut } from 'gatehouse/client';
import { api, busy, page, showError, statusNear } from './dom.js';

/** On every page: the header's sign-out button. */
document.addEventListener('click', (event) => {
  const button = event.target instanceof Element ? event.target.closest('button[data-action="sign-out"]') : null;
  if (!(button instanceof HTMLButtonElement)) return;
  void busy(button, async () => {
    try {
      await signOut(api);
      location.assign(page.afterSignOut);
    } catch (error) {
      showError(statusNear(button), error);
    }
  });
});
