import { addPasskey, deletePasskey, generateRecoveryCodes, linkProvider, renamePasskey, signOutOtherDevices, unlinkAccount } from 'gatehouse/client';
import { busy, find, isCode, say, setFlash, showError, showFlash, statusNear } from './ui.js';

/**
 * /account: add, rename and delete passkeys, and generate recovery codes. Changes to the
 * passkey list reload the page (the server renders the list) with a message kept for
 * after the reload; new recovery codes are shown in place, once.
 */

function rowOf(el: Element): HTMLTableRowElement {
  const row = el.closest('tr');
  if (row === null) throw new Error('demo: no passkey row');
  return row;
}

function toggleRename(row: HTMLTableRowElement, open: boolean): void {
  const form = find('form[data-form="rename"]', HTMLFormElement, row);
  const button = find('[data-action="rename-passkey"]', HTMLButtonElement, row);
  form.hidden = !open;
  button.hidden = open;
  if (open) find('input', HTMLInputElement, form).select();
  else button.focus();
}

/**
 * SESS-08: after a passkey is added or removed, offer to end the other sessions (the usual
 * reason for the change is a lost or shared device). Asked only when there are others.
 */
async function offerToEndOtherSessions(): Promise<string> {
  const others = Number(document.getElementById('passkeys')?.dataset.otherSessions ?? '0');
  if (others === 0 || !confirm(`Also sign out your ${others} other device${others === 1 ? '' : 's'}? Do this if a device was lost or shared.`)) return '';
  const ended = await signOutOtherDevices().catch(() => -1);
  return ended < 0 ? ' Signing out the other devices failed; use “Sign out all other devices” below.' : ` ${ended} other device${ended === 1 ? '' : 's'} signed out.`;
}

async function add(button: HTMLButtonElement): Promise<void> {
  const status = statusNear(button);
  say(status, 'info', 'Follow your browser’s prompt to create the passkey…');
  try {
    const passkey = await addPasskey();
    setFlash('passkeys', `Passkey “${passkey.name}” added.${await offerToEndOtherSessions()}`);
    location.assign('/account');
  } catch (error) {
    if (isCode(error, 'CANCELLED')) say(status, 'info', 'No passkey was added.');
    else showError(status, error);
  }
}

async function remove(button: HTMLButtonElement): Promise<void> {
  const id = button.dataset.id ?? '';
  if (!confirm(`Delete the passkey “${button.dataset.name ?? ''}”? You will no longer be able to sign in with it.`)) return;
  try {
    await deletePasskey({ id });
    setFlash('passkeys', `Passkey deleted.${await offerToEndOtherSessions()}`);
    location.reload();
  } catch (error) {
    showError(statusNear(button), error);
  }
}

async function generate(button: HTMLButtonElement): Promise<void> {
  const card = find('#recovery', HTMLElement);
  const status = statusNear(button);
  if (Number(button.dataset.existing ?? '0') > 0 && !confirm('Generate new recovery codes? The codes you have now stop working.')) return;
  try {
    const codes = await generateRecoveryCodes();
    const list = find('ol.codes', HTMLOListElement, card);
    list.replaceChildren(...codes.map((code) => Object.assign(document.createElement('li'), { textContent: code })));
    find('[data-codes]', HTMLElement, card).hidden = false;
    find('[data-recovery-count]', HTMLElement, card).textContent = `You have ${codes.length} unused recovery codes.`;
    button.dataset.existing = String(codes.length);
    button.textContent = 'Generate new codes';
    button.className = 'secondary';
    say(status, 'ok', `${codes.length} new recovery codes. Save them now: they will not be shown again.`);
  } catch (error) {
    showError(status, error);
  }
}

async function copyCodes(button: HTMLButtonElement): Promise<void> {
  const list = find('#recovery ol.codes', HTMLOListElement);
  const codes = [...list.querySelectorAll('li')].map((li) => li.textContent ?? '');
  const status = statusNear(button);
  try {
    await navigator.clipboard.writeText(codes.join('\n'));
    say(status, 'ok', `Copied ${codes.length} codes to the clipboard.`);
  } catch {
    // No clipboard access (permissions, insecure context): select them for a manual copy.
    getSelection()?.selectAllChildren(list);
    say(status, 'info', 'Could not copy automatically. The codes are selected: press Ctrl+C (⌘C on a Mac).');
  }
}

/** Linking leaves for the provider and comes back here (or with ?error=CODE, shown by the page). */
async function link(button: HTMLButtonElement): Promise<void> {
  try {
    location.assign(await linkProvider({ provider: button.dataset.provider ?? '', returnTo: '/account#linked' }));
  } catch (error) {
    showError(statusNear(button), error);
  }
}

async function unlink(button: HTMLButtonElement): Promise<void> {
  if (!confirm(`Unlink ${button.dataset.name ?? 'this provider'}? You will no longer be able to sign in with it.`)) return;
  try {
    await unlinkAccount({ id: button.dataset.id ?? '' });
    setFlash('linked', `${button.dataset.name ?? 'Provider'} unlinked.`);
    location.reload();
  } catch (error) {
    showError(statusNear(button), error);
  }
}

document.addEventListener('click', (event) => {
  const el = event.target instanceof Element ? event.target.closest('[data-action]') : null;
  if (!(el instanceof HTMLButtonElement)) return;
  switch (el.dataset.action) {
    case 'add-passkey':
      void busy(el, () => add(el));
      break;
    case 'delete-passkey':
      void busy(el, () => remove(el));
      break;
    case 'rename-passkey':
      toggleRename(rowOf(el), true);
      break;
    case 'cancel-rename':
      toggleRename(rowOf(el), false);
      break;
    case 'generate-codes':
      void busy(el, () => generate(el));
      break;
    case 'copy-codes':
      void copyCodes(el);
      break;
    case 'link':
      void busy(el, () => link(el));
      break;
    case 'unlink':
      void busy(el, () => unlink(el));
      break;
  }
});

document.addEventListener('submit', (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || form.dataset.form !== 'rename') return;
  event.preventDefault();
  const name = find('input', HTMLInputElement, form).value.trim();
  const save = find('button[type="submit"]', HTMLButtonElement, form);
  void busy(save, async () => {
    try {
      await renamePasskey({ id: form.dataset.id ?? '', name });
      setFlash('passkeys', `Passkey renamed to “${name}”.`);
      location.reload();
    } catch (error) {
      showError(statusNear(form.closest('section') ?? form), error);
    }
  });
});

document.addEventListener('keydown', (event) => {
  if (event.key !== 'Escape' || !(event.target instanceof HTMLInputElement)) return;
  const form = event.target.closest('form[data-form="rename"]');
  if (form !== null) toggleRename(rowOf(form), false);
});

showFlash();
