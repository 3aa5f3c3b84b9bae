import type { IdentityRecord, PasskeyRecord, SessionRecord } from '../../storage/contract.js';
import { html, type SafeHtml } from '../html.js';
import type { PageKit, Viewer } from '../layout.js';
import { deviceText } from '../user-agent.js';
import { errorBanner, type ProviderButton } from './auth.js';
import { utc } from './format.js';

export interface AccountView {
  passkeys: PasskeyRecord[];
  sessions: SessionRecord[];
  recoveryCodes: number;
  identities: IdentityRecord[];
  /** Every configured provider, for the "Link" buttons. */
  providers: readonly ProviderButton[];
  query: URLSearchParams;
}

function passkeyRow(p: PasskeyRecord, i: number): SafeHtml {
  const synced = p.deviceType === 'multiDevice';
  return html`<tr data-passkey="${p.id}">
  <td class="name"><strong data-name>${p.name}</strong>
    <span class="badge${synced ? '' : ' plain'}" title="${synced ? 'Synced by a password manager or cloud keychain: available on your other devices' : 'Kept on one device or security key'}">${synced ? 'synced' : 'device-bound'}</span>
    <form class="rename" data-form="rename" data-id="${p.id}" hidden>
      <label class="sr-only" for="rename-${i}">New name for ${p.name}</label>
      <input id="rename-${i}" name="name" value="${p.name}" required maxlength="64">
      <span class="row"><button type="submit">Save</button><button type="button" class="secondary" data-action="cancel-rename">Cancel</button></span>
    </form></td>
  <td class="when"><span class="cell-label">Added </span>${utc(p.createdAt)}</td>
  <td class="when"><span class="cell-label">Last used </span>${p.lastUsedAt === null ? 'never' : utc(p.lastUsedAt)}</td>
  <td class="actions"><span class="row"><button type="button" class="secondary" data-action="rename-passkey" aria-label="Rename ${p.name}">Rename</button>
    <button type="button" class="danger" data-action="delete-passkey" data-id="${p.id}" data-name="${p.name}" aria-label="Delete ${p.name}">Delete</button></span></td>
</tr>`;
}

function passkeysCard(view: AccountView, otherSessions: number): SafeHtml {
  const { passkeys } = view;
  return html`<section class="card" id="passkeys" aria-labelledby="passkeys-h" data-other-sessions="${otherSessions}">
<h2 id="passkeys-h">Passkeys</h2>
${passkeys.length === 0
  ? html`<p>You have no passkeys. Add one to sign in with this device’s fingerprint, face or screen lock.</p>`
  : html`<div class="table-wrap"><table class="stacked"><thead><tr><th scope="col">Name</th><th scope="col">Added</th><th scope="col">Last used</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
    <tbody>${passkeys.map(passkeyRow)}</tbody></table></div>`}
<p><button type="button" class="${passkeys.length === 0 ? '' : 'secondary'}" data-action="add-passkey">Add a passkey</button></p>
<p role="status" aria-live="polite"></p>
</section>`;
}

function devicesCard(viewer: Viewer, sessions: SessionRecord[]): SafeHtml {
  const current = viewer.found.session.id;
  // This device first, then the most recently seen.
  const sorted = [...sessions].sort((a, b) => Number(b.id === current) - Number(a.id === current) || b.lastSeenAt - a.lastSeenAt);
  const others = sessions.filter((s) => s.id !== current).length;
  return html`<section class="card" id="devices" aria-labelledby="devices-h">
<h2 id="devices-h">Devices</h2>
<p class="muted">Where your account is signed in. Sign out any device you do not recognise.</p>
<div class="table-wrap"><table class="stacked"><thead><tr><th scope="col">Device</th><th scope="col">IP address</th><th scope="col">Last seen</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
<tbody>${sorted.map(
    (s) => html`<tr data-session="${s.id}"><td class="wrap"><strong>${deviceText(s.userAgent)}</strong> ${s.id === current ? html`<span class="badge">this device</span>` : ''}
  <br><span class="muted">Signed in ${utc(s.createdAt)}${s.amr.length > 0 ? ` with ${s.amr.join(', ')}` : ''}</span></td>
  <td class="wrap"><span class="cell-label">IP </span>${s.ip ?? 'unknown'}</td>
  <td class="when"><span class="cell-label">Last seen </span>${utc(s.lastSeenAt)}</td>
  <td class="actions"><button class="danger" type="button" data-action="end-session" data-id="${s.id}" data-current="${s.id === current ? '1' : '0'}" aria-label="Sign out ${deviceText(s.userAgent)}${s.id === current ? ' (this device)' : ''}">Sign out</button></td></tr>`,
  )}</tbody></table></div>
${others === 0 ? '' : html`<p><button class="secondary" type="button" data-action="revoke-others" data-count="${others}">Sign out all other devices</button></p>`}
<p role="status" aria-live="polite"></p>
</section>`;
}

function linkedAccountsCard(view: AccountView): SafeHtml | string {
  if (view.providers.length === 0 && view.identities.length === 0) return '';
  const names = new Map(view.providers.map((p) => [p.id, p.name]));
  const linked = new Set(view.identities.map((i) => i.provider));
  const available = view.providers.filter((p) => !linked.has(p.id));
  return html`<section class="card" id="linked" aria-labelledby="linked-h">
<h2 id="linked-h">Linked accounts</h2>
<p>Sign in with these providers as well as with your passkeys.</p>
${view.identities.length === 0
  ? html`<p class="muted">No provider is linked yet.</p>`
  : html`<div class="table-wrap"><table class="stacked"><thead><tr><th scope="col">Provider</th><th scope="col">Email at the provider</th><th scope="col">Last used</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
    <tbody>${view.identities.map((i) => {
      const name = names.get(i.provider) ?? i.provider;
      return html`<tr data-identity="${i.id}"><td class="name"><strong>${name}</strong></td>
      <td class="wrap"><span class="cell-label">Email </span>${i.email ?? html`<span class="muted">none shared</span>`}${i.email !== null && !i.emailVerified ? html` <span class="badge plain">unverified</span>` : ''}</td>
      <td class="when"><span class="cell-label">Last used </span>${i.lastUsedAt === null ? 'never' : utc(i.lastUsedAt)}</td>
      <td class="actions"><button type="button" class="danger" data-action="unlink" data-id="${i.id}" data-name="${name}" aria-label="Unlink ${name}">Unlink</button></td></tr>`;
    })}</tbody></table></div>`}
${available.length === 0 ? '' : html`<p class="row">${available.map((p) => html`<button type="button" class="secondary" data-action="link" data-provider="${p.id}">Link ${p.name}</button>`)}</p>`}
<p role="status" aria-live="polite"></p>
</section>`;
}

function recoveryCard(count: number): SafeHtml {
  return html`<section class="card" id="recovery" aria-labelledby="recovery-h">
<h2 id="recovery-h">Recovery codes</h2>
<p>If you lose every passkey, a recovery code gets you back in. Each code works once.</p>
<p data-recovery-count>${count === 0 ? 'You have no recovery codes yet.' : html`You have <strong>${count}</strong> unused recovery code${count === 1 ? '' : 's'}.`}</p>
<div data-codes hidden>
  <p><strong>Save these codes now</strong>, in a password manager or on paper. They are shown only this once, and they replace any codes you had.</p>
  <ol class="codes" aria-label="Your recovery codes"></ol>
  <p class="row"><button type="button" class="secondary" data-action="copy-codes">Copy codes</button>
  <button type="button" class="secondary" data-action="download-codes">Download as text file</button></p>
</div>
<p><button type="button" class="${count === 0 ? '' : 'secondary'}" data-action="generate-codes" data-existing="${count}">${count === 0 ? 'Generate recovery codes' : 'Generate new codes'}</button></p>
<p role="status" aria-live="polite"></p>
</section>`;
}

export function accountPage(kit: PageKit, viewer: Viewer, view: AccountView): Response {
  const { user, session } = viewer.found;
  const recovered = view.query.get('recovered') === '1';
  const welcome = view.query.get('welcome') === '1';
  const otherSessions = view.sessions.filter((s) => s.id !== session.id).length;
  return kit.page(viewer, {
    title: 'Your account',
    current: 'account',
    script: 'account',
    body: html`<h1>Your account</h1>
${errorBanner(view.query.get('error'))}
${recovered
  ? html`<div class="card banner" role="note"><h2>Add a passkey now</h2>
      <p>You signed in with a recovery code, and your other devices were signed out. Add a passkey so you can sign in
      without a code next time${view.recoveryCodes <= 3 ? html`, and generate new recovery codes: you have ${view.recoveryCodes} left` : ''}.</p>
      <p><button type="button" data-action="add-passkey">Add a passkey</button></p><p role="status" aria-live="polite"></p></div>`
  : ''}
${welcome && !recovered
  ? html`<div class="card banner ok" role="note"><p>Your account is ready and this browser is signed in. Generate recovery codes below,
      in case you lose this device.</p></div>`
  : ''}
<section class="card" id="profile" aria-labelledby="profile-h">
<h2 id="profile-h">Profile</h2>
<dl class="profile"><dt>Email</dt><dd>${user.email}</dd><dt>Role</dt><dd><span class="badge">${user.role}</span></dd></dl>
<form class="profile-name" data-form="profile">
  <label for="profile-name">Name</label>
  <span class="row"><input id="profile-name" name="name" value="${user.name}" maxlength="100" autocomplete="name" placeholder="not set">
  <button type="submit" class="secondary">Save name</button></span>
  <p role="status" aria-live="polite"></p>
</form>
</section>
${passkeysCard(view, otherSessions)}
${devicesCard(viewer, view.sessions)}
${linkedAccountsCard(view)}
${recoveryCard(view.recoveryCodes)}`,
  });
}
