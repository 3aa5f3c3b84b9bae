import { addPasskey, deletePasskey, generateRecoveryCodes, linkProvider, renamePasskey, signOutDevice, signOutOtherDevices, unlinkAccount, updateProfile } from 'gatehouse/client';
import { api, busy, find, isCode, page, say, setFlash, showError, showFlash, statusNear } from './dom.js';

/**
 * The account page: passkeys (add, rename, delete), devices (sign out one or all others),
 * linked providers (link, unlink) and recovery codes (generate, copy, download). Changes to a
 * list reload the page (the server renders the lists) with a message kept for after the
 * reload; new recovery codes are shown in place, once. Every destructive action asks first.
 */

const accountPath = `${page.basePath}/account`;

function rowOf(el: Element): HTMLTableRowElement {
  const row = el.closest('tr');
  if (row === null) throw new Error('gatehouse ui: no table row');
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
 * SESS-08: after a credential is added or removed (a passkey, a linked provider, a replaced set
 * of recovery codes), offer to end the other sessions: the usual reason for the change is a lost
 * or shared device. Asked only when there are others.
 */
async function offerToEndOtherSessions(): Promise<string> {
  const others = Number(document.getElementById('passkeys')?.dataset.otherSessions ?? '0');
  if (others === 0 || !confirm(`Also sign out your ${others} other device${others === 1 ? '' : 's'}? Do this if a device was lost or shared.`)) return '';
  const ended = await signOutOtherDevices(api).catch(() => -1);
  return ended < 0 ? ' Signing out the other devices failed; use “Sign out all other devices” below.' : ` ${ended} other device${ended === 1 ? '' : 's'} signed out.`;
}

async function add(button: HTMLButtonElement): Promise<void> {
  const status = statusNear(button);
  say(status, 'info', 'Follow your browser’s prompt to create the passkey…');
  try {
    const passkey = await addPasskey(api);
    setFlash('passkeys', `Passkey “${passkey.name}” added.${await offerToEndOtherSessions()}`);
    location.assign(accountPath);
  } catch (error) {
    if (isCode(error, 'CANCELLED')) say(status, 'info', 'No passkey was added.');
    else showError(status, error);
  }
}

async function remove(button: HTMLButtonElement): Promise<void> {
  if (!confirm(`Delete the passkey “${button.dataset.name ?? ''}”? You will no longer be able to sign in with it.`)) return;
  try {
    await deletePasskey({ ...api, id: button.dataset.id ?? '' });
    setFlash('passkeys', `Passkey deleted.${await offerToEndOtherSessions()}`);
    location.reload();
  } catch (error) {
    showError(statusNear(button), error);
  }
}

async function endSession(button: HTMLButtonElement): Promise<void> {
  const current = button.dataset.current === '1';
  if (!confirm(current ? 'Sign out this device?' : 'Sign out this device? It will have to sign in again.')) return;
  try {
    await signOutDevice({ ...api, id: button.dataset.id ?? '' });
    if (current) {
      location.assign(page.afterSignOut);
      return;
    }
    setFlash('devices', 'The device was signed out.');
    location.reload();
  } catch (error) {
    showError(statusNear(button), error);
  }
}

async function endOthers(button: HTMLButtonElement): Promise<void> {
  const count = Number(button.dataset.count ?? '0');
  if (!confirm(`Sign out ${count === 1 ? 'the other device' : `all ${count} other devices`}? They will have to sign in again.`)) return;
  try {
    const ended = await signOutOtherDevices(api);
    setFlash('devices', `${ended} other device${ended === 1 ? '' : 's'} signed out.`);
    location.reload();
  } catch (error) {
    showError(statusNear(button), error);
  }
}

async function generate(button: HTMLButtonElement): Promise<void> {
  const card = find('#recovery', HTMLElement);
  const status = statusNear(button);
  if (Number(button.dataset.existing ?? '0') > 0 && !confirm('Generate new recovery codes? The codes you have now stop working.')) return;
  const replacing = Number(button.dataset.existing ?? '0') > 0;
  try {
    const codes = await generateRecoveryCodes(api);
    const list = find('ol.codes', HTMLOListElement, card);
    list.replaceChildren(...codes.map((code) => Object.assign(document.createElement('li'), { textContent: code })));
    find('[data-codes]', HTMLElement, card).hidden = false;
    find('[data-recovery-count]', HTMLElement, card).textContent = `You have ${codes.length} unused recovery codes.`;
    button.dataset.existing = String(codes.length);
    button.textContent = 'Generate new codes';
    button.className = 'secondary';
    const shown = `${codes.length} new recovery codes. Save them now: they will not be shown again.`;
    say(status, 'ok', shown);
    // Replacing codes (lost, or seen by someone?) is a credential change: offer to end the other sessions.
    const ended = replacing ? await offerToEndOtherSessions() : '';
    if (ended !== '') say(status, 'ok', `${shown}${ended}`);
  } catch (error) {
    showError(status, error);
  }
}

function shownCodes(): string[] {
  return [...find('#recovery ol.codes', HTMLOListElement).querySelectorAll('li')].map((li) => li.textContent);
}

async function copyCodes(button: HTMLButtonElement): Promise<void> {
  const codes = shownCodes();
  const status = statusNear(button);
  try {
    await navigator.clipboard.writeText(codes.join('\n'));
    say(status, 'ok', `Copied ${codes.length} codes to the clipboard.`);
  } catch {
    // No clipboard access (permissions, insecure context): select them for a manual copy.
    getSelection()?.selectAllChildren(find('#recovery ol.codes', HTMLOListElement));
    say(status, 'info', 'Could not copy automatically. The codes are selected: press Ctrl+C (⌘C on a Mac).');
  }
}

/** The codes as a text file, made in the page: they never go back to the server. */
function downloadCodes(button: HTMLButtonElement): void {
  const text = `Recovery codes for ${location.host}\nEach code works once. Keep this file somewhere safe.\n\n${shownCodes().join('\n')}\n`;
  const url = URL.createObjectURL(new Blob([text], { type: 'text/plain' }));
  const link = Object.assign(document.createElement('a'), { href: url, download: `recovery-codes-${location.hostname}.txt` });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
  say(statusNear(button), 'ok', 'Downloaded. Keep the file somewhere safe, away from this device.');
}

/** Linking leaves for the provider and comes back here (or with ?error=CODE, shown by the page). */
/**
 * Set in this tab just before leaving for the provider, read once on the way back: a link from
 * another site to `/auth/account#linked` must not bring up the "sign out your other devices?"
 * question when nothing was linked.
 */
const LINKING = 'gatehouse-linking';

async function link(button: HTMLButtonElement): Promise<void> {
  try {
    const target = await linkProvider({ ...api, provider: button.dataset.provider ?? '', returnTo: `${accountPath}#linked` });
    sessionStorage.setItem(LINKING, '1');
    location.assign(target);
  } catch (error) {
    showError(statusNear(button), error);
  }
}

async function unlink(button: HTMLButtonElement): Promise<void> {
  if (!confirm(`Unlink ${button.dataset.name ?? 'this provider'}? You will no longer be able to sign in with it.`)) return;
  try {
    await unlinkAccount({ ...api, id: button.dataset.id ?? '' });
    setFlash('linked', `${button.dataset.name ?? 'Provider'} unlinked.${await offerToEndOtherSessions()}`);
    location.reload();
  } catch (error) {
    showError(statusNear(button), error);
  }
}

const ACTIONS: Record<string, (button: HTMLButtonElement) => Promise<void> | void> = {
  'add-passkey': add,
  'delete-passkey': remove,
  'rename-passkey': (el) => toggleRename(rowOf(el), true),
  'cancel-rename': (el) => toggleRename(rowOf(el), false),
  'end-session': endSession,
  'revoke-others': endOthers,
  'generate-codes': generate,
  'copy-codes': copyCodes,
  'download-codes': downloadCodes,
  link,
  unlink,
};

document.addEventListener('click', (event) => {
  const el = event.target instanceof Element ? event.target.closest('[data-action]') : null;
  if (!(el instanceof HTMLButtonElement)) return;
  const action = ACTIONS[el.dataset.action ?? ''];
  if (action !== undefined) void busy(el, async () => action(el));
});

document.addEventListener('submit', (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || form.dataset.form !== 'profile') return;
  event.preventDefault();
  const input = find('input', HTMLInputElement, form);
  const save = find('button[type="submit"]', HTMLButtonElement, form);
  void busy(save, async () => {
    try {
      const user = await updateProfile({ ...api, name: input.value });
      input.value = user.name;
      // The header shows the name too: reload so every place agrees.
      setFlash('profile', user.name === '' ? 'Name cleared.' : `Name saved: “${user.name}”.`);
      location.reload();
    } catch (error) {
      showError(statusNear(form), error);
    }
  });
});

document.addEventListener('submit', (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || form.dataset.form !== 'rename') return;
  event.preventDefault();
  const name = find('input', HTMLInputElement, form).value.trim();
  const save = find('button[type="submit"]', HTMLButtonElement, form);
  void busy(save, async () => {
    try {
      await renamePasskey({ ...api, id: form.dataset.id ?? '', name });
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

// Back from linking a provider that this tab started (the return address ends in #linked, and
// no ?error=): offer once.
const startedLinking = sessionStorage.getItem(LINKING) === '1';
sessionStorage.removeItem(LINKING);
const backFromLinking = location.hash === '#linked';
if (backFromLinking) history.replaceState(null, '', `${location.pathname}${location.search}`);
if (backFromLinking && startedLinking && !new URLSearchParams(location.search).has('error')) {
  void offerToEndOtherSessions().then((ended) => {
    if (ended !== '') say(statusNear(find('#linked', HTMLElement)), 'ok', `Provider linked.${ended}`);
  });
}
