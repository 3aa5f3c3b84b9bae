import { html, raw } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';
import type { SessionResult } from 'gatehouse';
import type { Post } from './posts.js';

export type Html = HtmlEscapedString | Promise<HtmlEscapedString>;

const styles = raw(`
:root { --fg:#1d2433; --muted:#5b6475; --bg:#f6f7fb; --card:#fff; --accent:#2f5bd3; --danger:#b42318; --ok:#067647; --line:#dde1ea; }
* { box-sizing: border-box; }
body { margin:0; font: 16px/1.5 system-ui, sans-serif; color:var(--fg); background:var(--bg); }
header { background:var(--card); border-bottom:1px solid var(--line); }
nav { max-width:760px; margin:0 auto; padding:12px 16px; display:flex; gap:16px; align-items:center; flex-wrap:wrap; }
nav a { color:var(--accent); text-decoration:none; font-weight:600; }
nav .who { margin-left:auto; color:var(--muted); font-size:14px; } nav .who a { font-size:16px; margin-left:12px; }
main { max-width:760px; margin:24px auto; padding:0 16px; }
.card { background:var(--card); border:1px solid var(--line); border-radius:10px; padding:16px 20px; margin-bottom:16px; }
h1 { font-size:28px; margin:0 0 12px; } h2 { font-size:20px; margin:0 0 8px; }
.muted { color:var(--muted); } code { background:#eef0f5; padding:1px 5px; border-radius:4px; }
button { font:inherit; padding:6px 14px; border-radius:6px; border:1px solid var(--accent); background:var(--accent); color:#fff; cursor:pointer; }
button.secondary { background:#fff; color:var(--accent); } button.danger { border-color:var(--danger); background:#fff; color:var(--danger); }
button:disabled { opacity:.6; cursor:progress; }
a.button { display:inline-block; font-weight:600; padding:6px 14px; border-radius:6px; border:1px solid var(--accent); background:#fff; color:var(--accent); text-decoration:none; }
.providers { display:flex; flex-direction:column; gap:8px; } .divider { text-align:center; color:var(--muted); margin:12px 0; }
.error-banner { border-left:4px solid var(--danger); } .error-banner p { margin:0; color:var(--danger); }
a:focus-visible, button:focus-visible, input:focus-visible { outline:3px solid #9db4f0; outline-offset:2px; }
input, textarea { font:inherit; width:100%; padding:8px; border:1px solid #b8bfcc; border-radius:6px; margin:4px 0 12px; }
label { font-weight:600; display:block; }
main a { color:var(--accent); }
.hint { font-size:14px; margin:-6px 0 14px; }
.notice { border-left:4px solid var(--accent); }
.row { display:flex; gap:8px; flex-wrap:wrap; align-items:center; }
.sr-only { position:absolute; width:1px; height:1px; overflow:hidden; clip:rect(0 0 0 0); white-space:nowrap; }
dl.profile { display:grid; grid-template-columns:max-content 1fr; gap:4px 16px; margin:0; } dl.profile dt { color:var(--muted); } dl.profile dd { margin:0; overflow-wrap:anywhere; }
ol.codes { columns:2; column-gap:24px; padding-left:28px; font:600 16px/1.9 ui-monospace, SFMono-Regular, Menlo, monospace; }
td.name { overflow-wrap:anywhere; min-width:10em; } td.actions { white-space:nowrap; text-align:right; }
form.rename input { margin:4px 0 8px; } .cell-label { display:none; color:var(--muted); }
[role=status][data-kind=ok] { color:var(--ok); } [role=status][data-kind=info] { color:var(--fg); }
.table-wrap { overflow-x:auto; } table { width:100%; border-collapse:collapse; } td.when { white-space:nowrap; } td.device { overflow-wrap:anywhere; min-width:12em; } td, th { text-align:left; padding:8px 6px; border-bottom:1px solid var(--line); vertical-align:top; font-size:14px; }
.badge { display:inline-block; font-size:12px; padding:1px 8px; border-radius:999px; background:#e7edfb; color:var(--accent); }
[role=status] { min-height:1.5em; color:var(--danger); }
p[role=status] { margin:8px 0 0; } p[role=status]:empty { min-height:0; margin:0; }
.card > :first-child { margin-top:0; } .card > :last-child { margin-bottom:0; }
th { white-space:nowrap; } td button { white-space:nowrap; }
@media (max-width: 600px) {
  table, tbody, tr, td { display:block; } thead { display:none; }
  tr { border-bottom:1px solid var(--line); padding:10px 0; } td { border:0; padding:2px 0; }
  td.actions { text-align:left; padding-top:6px; } .cell-label { display:inline; }
  ol.codes { columns:1; }
}
`);

function duration(ms: number): string {
  const hours = Math.max(0, Math.round(ms / 3_600_000));
  if (hours < 48) return `${hours} hour${hours === 1 ? '' : 's'}`;
  return `${Math.round(hours / 24)} days`;
}


/** Every demo page: the shared script, the nav and the page's body. */
export function layout(title: string, auth: SessionResult | null, body: Html): Html {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${title} · Gatehouse demo</title>
<style>${styles}</style>
<script type="module" src="/assets/demo.js"></script>
</head>
<body>
<header><nav aria-label="Main">
<a href="/">Home</a><a href="/posts">Posts</a><a href="/auth/account">Account</a>
${auth
  ? html`<span class="who">Signed in as <strong>${auth.user.email}</strong> <span class="badge">${auth.user.role}</span>
  <button class="secondary" data-action="sign-out" type="button">Sign out</button></span>`
  : html`<span class="who">Not signed in <a href="/auth/sign-in">Sign in</a> <a href="/auth/sign-up">Sign up</a></span>`}
</nav></header>
<main>${body}</main>
</body>
</html>`;
}

export function homePage(auth: SessionResult | null): Html {
  return layout(
    'Home',
    auth,
    html`<h1>Gatehouse demo</h1>
<div class="card">
${auth
  ? html`<p>You are signed in as <strong>${auth.user.email}</strong> with the role <span class="badge">${auth.user.role}</span>.
     Your session ends after ${duration(auth.session.expiresAt.getTime() - Date.now())} without activity, and in any case
     ${duration(auth.session.absoluteExpiresAt.getTime() - Date.now())} after you signed in.</p>`
  : html`<p>You are not signed in. <a href="/auth/sign-in">Sign in with a passkey</a> or <a href="/auth/sign-up">create an account</a>;
     until then, protected pages and <code>/api/*</code> answer 401.</p>
     <p class="muted">New accounts are members. An operator can raise a role with
     <code>npm run cli -- users set-role --email you@example.com --role admin</code>.</p>`}
</div>
<div class="card"><h2>What this app shows</h2>
<ul>
<li>Passkeys instead of passwords: the challenge is kept on the server and works once; recovery codes get you back in.</li>
<li>Database sessions in an <code>__Host-</code>, HttpOnly, Secure, SameSite=Lax cookie; page scripts cannot read it.</li>
<li>Every session can be ended at once: this device, all others, or all of a user's (by an admin).</li>
<li>Authorization is a separate table of roles and permissions: members read posts, editors write, admins delete.</li>
<li>Cross-site requests that change state are refused; session endpoints are rate limited.</li>
</ul></div>`,
  );
}

export function postsPage(auth: SessionResult | null, posts: Post[] | null, perms: { write: boolean; remove: boolean }): Html {
  return layout(
    'Posts',
    auth,
    html`<h1>Posts</h1>
${posts === null
  ? html`<div class="card"><p>Sign in to read posts.</p></div>`
  : html`${perms.write
      ? html`<form class="card" data-form="post">
          <h2>New post</h2>
          <label for="title">Title</label><input id="title" name="title" required maxlength="120">
          <label for="body">Text</label><textarea id="body" name="body" rows="3" required maxlength="2000"></textarea>
          <button type="submit">Publish</button> <span role="status" aria-live="polite"></span>
        </form>`
      : html`<p class="muted">Your role can read posts. Editors can write and admins can delete.</p>`}
    ${posts.length === 0 ? html`<div class="card"><p class="muted">No posts yet.</p></div>` : ''}
    ${posts.map(
      (p) => html`<article class="card"><h2>${p.title}</h2><p>${p.body}</p>
        <p class="muted">${new Date(p.createdAt).toISOString().slice(0, 16).replace('T', ' ')} UTC</p>
        ${perms.remove ? html`<button class="danger" type="button" data-action="delete-post" data-id="${p.id}">Delete</button>` : ''}
      </article>`,
    )}`}`,
  );
}

/** The one script the pages need: it calls the JSON API with fetch (cookies go along automatically). */
export const demoScript = `
const status = (el, text) => { const s = el.closest('.card, nav')?.querySelector('[role=status]'); if (s) s.textContent = text; else if (text) alert(text); };
async function call(method, url, body, retried) {
  const res = await fetch(url, { method, headers: body ? { 'content-type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined });
  if (res.ok) return null;
  const data = await res.json().catch(() => null);
  // JWT mode: an expired access token is refreshed once, then the call retried once.
  if (res.status === 401 && data?.error?.code === 'ACCESS_TOKEN_EXPIRED' && !retried) {
    const refreshed = await fetch('/auth/token/refresh', { method: 'POST' });
    if (refreshed.ok) return call(method, url, body, true);
  }
  return data?.error?.message ?? 'Request failed (' + res.status + ')';
}
document.addEventListener('click', async (event) => {
  const el = event.target instanceof Element ? event.target.closest('[data-action]') : null;
  if (!el) return;
  const action = el.getAttribute('data-action'); const id = el.getAttribute('data-id');
  // Other actions belong to the page's own module (/assets/demo/*.js).
  if (!['sign-out', 'end-session', 'revoke-others', 'delete-post'].includes(action)) return;
  let error = null;
  if (action === 'sign-out') error = await call('POST', '/auth/sign-out');
  if (action === 'end-session' && confirm('Sign this device out?')) error = await call('DELETE', '/auth/sessions/' + encodeURIComponent(id));
  if (action === 'revoke-others' && confirm('Sign out every other device?')) error = await call('POST', '/auth/sessions/revoke-others');
  if (action === 'delete-post' && confirm('Delete this post?')) error = await call('DELETE', '/api/posts/' + encodeURIComponent(id));
  if (error) status(el, error); else location.reload();
});
document.addEventListener('submit', async (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || form.dataset.form !== 'post') return;
  event.preventDefault();
  const data = Object.fromEntries(new FormData(form));
  const error = await call('POST', '/api/posts', data);
  if (error) status(form, error); else location.reload();
});
`;
