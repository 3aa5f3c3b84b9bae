import { html } from 'hono/html';
import type { IdentityRecord, SessionRecord, SessionResult, Storage } from 'gatehouse';
import { errorBanner, type ProviderButton } from './auth-pages.js';
import { layout, sessionsTable, utc, type Html } from './pages.js';

type Passkey = Awaited<ReturnType<Storage['listPasskeys']>>[number];

export interface AccountView {
  passkeys: Passkey[];
  sessions: SessionRecord[];
  recoveryCodes: number;
  identities: IdentityRecord[];
  /** Every configured provider, for the "Link" buttons. */
  providers: readonly ProviderButton[];
  /** A failed link came back with `?error=CODE`. */
  error?: string;
  /** Just signed in with a recovery code: prompt for a new passkey. */
  recovered: boolean;
  /** Just signed up. */
  welcome: boolean;
}

function passkeyRow(p: Passkey, i: number): Html {
  const synced = p.deviceType === 'multiDevice';
  return html`<tr data-passkey="${p.id}">
  <td class="name"><strong data-name>${p.name}</strong>
    <span class="badge" title="${synced ? 'Synced by your password manager or cloud keychain' : 'Kept on one device or security key'}">${synced ? 'synced' : 'this device'}</span>
    <form class="rename" data-form="rename" data-id="${p.id}" hidden>
      <label class="sr-only" for="rename-${i}">New name for ${p.name}</label>
      <input id="rename-${i}" name="name" value="${p.name}" required maxlength="64">
      <span class="row"><button type="submit">Save</button><button type="button" class="secondary" data-action="cancel-rename">Cancel</button></span>
    </form></td>
  <td class="when"><span class="cell-label">Added </span>${utc(p.createdAt)}</td>
  <td class="when"><span class="cell-label">Last used </span>${p.lastUsedAt === null ? 'never' : utc(p.lastUsedAt)}</td>
  <td class="actions"><button type="button" class="secondary" data-action="rename-passkey" aria-label="Rename ${p.name}">Rename</button>
    <button type="button" class="danger" data-action="delete-passkey" data-id="${p.id}" data-name="${p.name}" aria-label="Delete ${p.name}">Delete</button></td>
</tr>`;
}

function linkedAccountsCard(view: AccountView): Html | string {
  if (view.providers.length === 0 && view.identities.length === 0) return '';
  const names = new Map(view.providers.map((p) => [p.id, p.name]));
  const linked = new Set(view.identities.map((i) => i.provider));
  const available = view.providers.filter((p) => !linked.has(p.id));
  return html`<section class="card" id="linked" aria-labelledby="linked-h">
<h2 id="linked-h">Linked accounts</h2>
<p>Sign in with these providers as well as with your passkeys.</p>
${view.identities.length === 0
  ? html`<p class="muted">No provider is linked yet.</p>`
  : html`<div class="table-wrap"><table><thead><tr><th scope="col">Provider</th><th scope="col">Email at the provider</th><th scope="col">Last used</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
    <tbody>${view.identities.map(
      (i) => html`<tr data-identity="${i.id}"><td class="name"><strong>${names.get(i.provider) ?? i.provider}</strong></td>
      <td class="device"><span class="cell-label">Email </span>${i.email ?? html`<span class="muted">none shared</span>`}${i.email !== null && !i.emailVerified ? html` <span class="badge">unverified</span>` : ''}</td>
      <td class="when"><span class="cell-label">Last used </span>${i.lastUsedAt === null ? 'never' : utc(i.lastUsedAt)}</td>
      <td class="actions"><button type="button" class="danger" data-action="unlink" data-id="${i.id}" data-name="${names.get(i.provider) ?? i.provider}" aria-label="Unlink ${names.get(i.provider) ?? i.provider}">Unlink</button></td></tr>`,
    )}</tbody></table></div>`}
${available.length === 0 ? '' : html`<p class="row">${available.map((p) => html`<button type="button" class="secondary" data-action="link" data-provider="${p.id}">Link ${p.name}</button>`)}</p>`}
<p role="status" aria-live="polite"></p>
</section>`;
}

function recoveryCard(count: number): Html {
  return html`<section class="card" id="recovery" aria-labelledby="recovery-h">
<h2 id="recovery-h">Recovery codes</h2>
<p>If you lose every passkey, a recovery code gets you back in. Each code works once.</p>
<p data-recovery-count>${count === 0 ? 'You have no recovery codes yet.' : html`You have <strong>${count}</strong> unused recovery code${count === 1 ? '' : 's'}.`}</p>
<div data-codes hidden>
  <p><strong>Save these codes now</strong>, in a password manager or on paper. They are shown only this once, and they replace any codes you had.</p>
  <ol class="codes" aria-label="Your recovery codes"></ol>
  <p><button type="button" class="secondary" data-action="copy-codes">Copy codes</button></p>
</div>
<p><button type="button" class="${count === 0 ? '' : 'secondary'}" data-action="generate-codes" data-existing="${count}">${count === 0 ? 'Generate recovery codes' : 'Generate new codes'}</button></p>
<p role="status" aria-live="polite"></p>
</section>`;
}

export function accountPage(auth: SessionResult | null, view: AccountView | null): Html {
  if (auth === null || view === null) {
    return layout(
      'Your account',
      null,
      html`<h1>Your account</h1>
<div class="card"><p>Sign in to see your account.</p>
<p class="row"><a href="/sign-in?next=/account">Sign in</a> <span class="muted">or</span> <a href="/sign-up">create an account</a></p></div>`,
    );
  }
  const { user } = auth;
  const { passkeys } = view;
  return layout(
    'Your account',
    auth,
    html`<h1>Your account</h1>
${errorBanner(view.error)}
${view.recovered
  ? html`<div class="card notice" role="note"><h2>Add a passkey now</h2>
      <p>You signed in with a recovery code, and your other devices were signed out. Add a passkey so you can sign in
      without a code next time${view.recoveryCodes <= 3 ? html`, and generate new recovery codes: you have ${view.recoveryCodes} left` : ''}.</p>
      <p><button type="button" data-action="add-passkey">Add a passkey</button></p><p role="status" aria-live="polite"></p></div>`
  : ''}
${view.welcome && !view.recovered
  ? html`<div class="card notice" role="note"><p>Your account is ready and this browser is signed in. Generate recovery codes below,
      in case you lose this device.</p></div>`
  : ''}
<section class="card" aria-labelledby="profile-h">
<h2 id="profile-h">Profile</h2>
<dl class="profile"><dt>Email</dt><dd>${user.email}</dd><dt>Name</dt><dd>${user.name || html`<span class="muted">not set</span>`}</dd>
<dt>Role</dt><dd><span class="badge">${user.role}</span></dd></dl>
</section>
<section class="card" id="passkeys" aria-labelledby="passkeys-h" data-other-sessions="${view.sessions.filter((s) => s.id !== auth.session.id).length}">
<h2 id="passkeys-h">Passkeys</h2>
${passkeys.length === 0
  ? html`<p>You have no passkeys. Add one to sign in with this device’s fingerprint, face or screen lock.</p>`
  : html`<div class="table-wrap"><table><thead><tr><th scope="col">Name</th><th scope="col">Added</th><th scope="col">Last used</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
    <tbody>${passkeys.map(passkeyRow)}</tbody></table></div>`}
<p><button type="button" class="${passkeys.length === 0 ? '' : 'secondary'}" data-action="add-passkey">Add a passkey</button></p>
<p role="status" aria-live="polite"></p>
</section>
${linkedAccountsCard(view)}
${recoveryCard(view.recoveryCodes)}
<section class="card" id="devices" aria-labelledby="devices-h">
<h2 id="devices-h">Devices</h2>
${sessionsTable(auth, view.sessions)}
</section>`,
    'account',
  );
}
