import { revokeUserSessions, updateUser } from 'gatehouse/client';
import { api, busy, find, setFlash, showError, showFlash } from './dom.js';

/**
 * The admin pages: change a role, disable or enable an account, end a user's sessions. Each
 * asks first, calls the JSON API (which checks the permission and a recent sign-in again) and
 * reloads with the outcome.
 */

const status = () => find('#users [role=status]', HTMLElement);

async function setRole(select: HTMLSelectElement): Promise<void> {
  const previous = select.dataset.role ?? '';
  if (select.value === previous) return;
  if (!confirm(`Change the role of ${select.dataset.name ?? 'this user'} from ${previous} to ${select.value}?`)) {
    select.value = previous;
    return;
  }
  try {
    await updateUser({ ...api, id: select.dataset.id ?? '', role: select.value });
    setFlash('users', `${select.dataset.name ?? 'The user'} is now ${select.value}.`);
    location.reload();
  } catch (error) {
    select.value = previous;
    showError(status(), error);
  }
}

async function setDisabled(button: HTMLButtonElement, disabled: boolean): Promise<void> {
  const name = button.dataset.name ?? 'this user';
  const question = disabled ? `Disable ${name}? They are signed out everywhere and cannot sign in until enabled again.` : `Enable ${name}? They can sign in again.`;
  if (!confirm(question)) return;
  try {
    await updateUser({ ...api, id: button.dataset.id ?? '', disabled });
    setFlash('users', `${name} ${disabled ? 'disabled' : 'enabled'}.`);
    location.reload();
  } catch (error) {
    showError(status(), error);
  }
}

async function revoke(button: HTMLButtonElement): Promise<void> {
  const self = button.dataset.self === '1';
  const name = button.dataset.name ?? 'this user';
  if (!confirm(self ? 'Sign yourself out everywhere, this browser included?' : `Sign ${name} out on every device?`)) return;
  try {
    const ended = await revokeUserSessions({ ...api, id: button.dataset.id ?? '' });
    if (self) {
      location.assign(`${api.basePath}/sign-in`);
      return;
    }
    setFlash('users', `${ended} session${ended === 1 ? '' : 's'} of ${name} ended.`);
    location.reload();
  } catch (error) {
    showError(status(), error);
  }
}

document.addEventListener('change', (event) => {
  const el = event.target;
  if (el instanceof HTMLSelectElement && el.dataset.action === 'set-role') void busy(el, () => setRole(el));
});

document.addEventListener('click', (event) => {
  const el = event.target instanceof Element ? event.target.closest('button[data-action]') : null;
  if (!(el instanceof HTMLButtonElement)) return;
  if (el.dataset.action === 'disable' || el.dataset.action === 'enable') void busy(el, () => setDisabled(el, el.dataset.action === 'disable'));
  if (el.dataset.action === 'revoke-sessions') void busy(el, () => revoke(el));
});

showFlash();
