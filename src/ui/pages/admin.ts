import type { Authz } from '../../authz/index.js';
import type { AuthEventRecord, UserRecord } from '../../storage/contract.js';
import { html, type SafeHtml } from '../html.js';
import type { PageKit, Viewer } from '../layout.js';
import { deviceText } from '../user-agent.js';
import { utc } from './format.js';

/**
 * The admin console: users (search, role, disable/enable, end sessions) and the audit log
 * (filter by user and type, paged). Server-rendered from the same storage queries as the JSON
 * API; the buttons call that API (src/ui/browser/admin.ts), which checks the permission again.
 */

export interface AdminCaps {
  readUsers: boolean;
  manageUsers: boolean;
  revokeSessions: boolean;
  readEvents: boolean;
}

type AdminTab = 'users' | 'events';

function tabs(kit: PageKit, caps: AdminCaps, current: AdminTab): SafeHtml {
  const tab = (id: AdminTab, href: string, label: string) =>
    html`<a class="button${current === id ? '' : ' secondary'}" href="${href}"${current === id ? html` aria-current="page"` : ''}>${label}</a>`;
  return html`<nav class="row tabs" aria-label="Admin sections">${caps.readUsers ? tab('users', `${kit.basePath}/admin`, 'Users') : ''}
${caps.readEvents ? tab('events', `${kit.basePath}/admin/audit`, 'Audit events') : ''}</nav>`;
}

/** An admin page: the heading, the section tabs, then the section. */
function adminPage(kit: PageKit, viewer: Viewer, caps: AdminCaps, tab: AdminTab, title: string, section: SafeHtml): Response {
  return kit.page(viewer, { title, current: 'admin', script: 'admin', body: html`<h1>Admin</h1>\n${tabs(kit, caps, tab)}\n${section}` });
}

export interface UsersView {
  users: UserRecord[];
  search: string;
  cursor: string | null;
  nextCursor: string | null;
}

function userRow(kit: PageKit, authz: Authz, viewer: Viewer, caps: AdminCaps, u: UserRecord): SafeHtml {
  const actorRole = viewer.found.user.role;
  const self = u.id === viewer.found.user.id;
  const manageable = caps.manageUsers && authz.canManage(actorRole, u.role);
  const roles = authz.roles.filter((r) => r === u.role || authz.canAssign(actorRole, r));
  const label = u.name === '' ? u.email : `${u.name} (${u.email})`;
  return html`<tr data-user="${u.id}">
<td class="wrap"><strong>${u.name === '' ? u.email : u.name}</strong>${self ? html` <span class="badge">you</span>` : ''}<br><span class="muted">${u.email}</span>
<br><span class="muted">Joined ${utc(u.createdAt)}</span></td>
<td><span class="cell-label">Role </span>${manageable && !self
    ? html`<label class="sr-only" for="role-${u.id}">Role of ${label}</label>
<select id="role-${u.id}" data-action="set-role" data-id="${u.id}" data-name="${label}" data-role="${u.role}">${roles.map((r) => html`<option value="${r}"${r === u.role ? html` selected` : ''}>${r}</option>`)}</select>`
    : html`<span class="badge">${u.role}</span>`}</td>
<td>${u.disabled ? html`<span class="badge danger">disabled</span>` : html`<span class="badge plain">active</span>`}</td>
<td class="actions"><span class="row">
${manageable && !self
    ? html`<button type="button" class="${u.disabled ? 'secondary' : 'danger'}" data-action="${u.disabled ? 'enable' : 'disable'}" data-id="${u.id}" data-name="${label}">${u.disabled ? 'Enable' : 'Disable'}</button>`
    : ''}
${caps.revokeSessions && (self || authz.canManage(actorRole, u.role))
    ? html`<button type="button" class="danger" data-action="revoke-sessions" data-id="${u.id}" data-name="${label}" data-self="${self ? '1' : '0'}">Sign out everywhere</button>`
    : ''}
${caps.readEvents ? html`<a href="${kit.basePath}/admin/audit?user=${encodeURIComponent(u.id)}">Events</a>` : ''}
</span></td></tr>`;
}

export function usersPage(kit: PageKit, authz: Authz, viewer: Viewer, caps: AdminCaps, view: UsersView): Response {
  const base = `${kit.basePath}/admin`;
  const q = view.search === '' ? '' : `q=${encodeURIComponent(view.search)}&`;
  return adminPage(
    kit,
    viewer,
    caps,
    'users',
    'Users',
    html`<section class="card" aria-labelledby="users-h" id="users">
<h2 id="users-h">Users</h2>
<form class="filters" method="get" action="${base}" role="search">
<div class="field"><label for="q">Search email or name</label><input id="q" name="q" type="search" value="${view.search}" maxlength="200"></div>
<button type="submit" class="secondary">Search</button>
</form>
<p role="status" aria-live="polite"></p>
${view.users.length === 0
  ? html`<p class="muted">${view.search === '' ? 'No users yet.' : 'No user matches this search.'}</p>`
  : html`<div class="table-wrap"><table class="stacked"><thead><tr><th scope="col">User</th><th scope="col">Role</th><th scope="col">Status</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
<tbody>${view.users.map((u) => userRow(kit, authz, viewer, caps, u))}</tbody></table></div>`}
<div class="pager">${view.cursor === null ? html`<span></span>` : html`<a href="${base}${view.search === '' ? '' : `?q=${encodeURIComponent(view.search)}`}">First page</a>`}
${view.nextCursor === null ? '' : html`<a href="${base}?${q}cursor=${encodeURIComponent(view.nextCursor)}">Next page</a>`}</div>
</section>`,
  );
}

export interface EventsView {
  events: AuthEventRecord[];
  /** Emails of the users and actors the events name (empty without users.read: ids are shown). */
  emails: ReadonlyMap<string, string>;
  types: readonly string[];
  filter: { user: string; type: string };
  /** The user filter named nobody. */
  unknownUser: boolean;
  /** The user filter is an email, and this role may not look users up (no users.read). */
  emailNotAllowed: boolean;
  before: number | null;
  nextBefore: number | null;
}

function who(kit: PageKit, id: string | null, emails: ReadonlyMap<string, string>): SafeHtml | string {
  if (id === null) return html`<span class="muted">—</span>`;
  return html`<a href="${kit.basePath}/admin/audit?user=${encodeURIComponent(id)}">${emails.get(id) ?? id}</a>`;
}

export function eventsPage(kit: PageKit, viewer: Viewer, caps: AdminCaps, view: EventsView): Response {
  const base = `${kit.basePath}/admin/audit`;
  const params = new URLSearchParams();
  if (view.filter.user !== '') params.set('user', view.filter.user);
  if (view.filter.type !== '') params.set('type', view.filter.type);
  const older = new URLSearchParams(params);
  if (view.nextBefore !== null) older.set('before', String(view.nextBefore));
  return adminPage(
    kit,
    viewer,
    caps,
    'events',
    'Audit events',
    html`<section class="card" aria-labelledby="events-h">
<h2 id="events-h">Audit events</h2>
<form class="filters" method="get" action="${base}" role="search">
<div class="field"><label for="user">${caps.readUsers ? 'User (email or id)' : 'User (account id)'}</label><input id="user" name="user" value="${view.filter.user}" maxlength="320" autocapitalize="off" spellcheck="false"></div>
<div class="field"><label for="type">Event type</label><select id="type" name="type"><option value="">All types</option>${view.types.map((t) => html`<option value="${t}"${t === view.filter.type ? html` selected` : ''}>${t}</option>`)}</select></div>
<span class="row"><button type="submit" class="secondary">Filter</button>${params.size > 0 ? html`<a href="${base}">Clear</a>` : ''}</span>
</form>
${view.unknownUser ? html`<p class="banner error card" role="alert">No user has the email or id “${view.filter.user}”.</p>` : ''}
${view.emailNotAllowed ? html`<p class="banner error card" role="alert">Your role can filter by account id only: looking up an email needs the users.read permission.</p>` : ''}
${view.events.length === 0
  ? html`<p class="muted">No events${params.size > 0 ? ' match these filters' : ' yet'}.</p>`
  : html`<div class="table-wrap"><table class="stacked"><thead><tr><th scope="col">Time</th><th scope="col">Event</th><th scope="col">User</th><th scope="col">IP and device</th></tr></thead>
<tbody>${view.events.map(
    (e) => html`<tr data-event="${e.id}"><td class="when">${utc(e.createdAt)}</td>
<td class="wrap"><span class="badge plain">${e.type}</span>${e.data === null ? '' : html`<br><code class="data">${JSON.stringify(e.data)}</code>`}</td>
<td class="wrap"><span class="cell-label">User </span>${who(kit, e.userId, view.emails)}${e.actorId === null || e.actorId === e.userId ? '' : html`<br><span class="muted">by ${who(kit, e.actorId, view.emails)}</span>`}</td>
<td class="wrap">${e.ip ?? ''}${e.userAgent === null ? '' : html`<br><span class="muted">${deviceText(e.userAgent)}</span>`}</td></tr>`,
  )}</tbody></table></div>`}
<div class="pager">${view.before === null ? html`<span></span>` : html`<a href="${base}${params.size > 0 ? `?${params.toString()}` : ''}">Newest</a>`}
${view.nextBefore === null ? '' : html`<a href="${base}?${older.toString()}">Older events</a>`}</div>
</section>`,
  );
}
