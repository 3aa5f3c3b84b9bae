import type { Core } from '../core.js';
import type { GatehouseLogger } from '../config/options.js';
import { AccessTokenExpiredError, AuthError, RateLimitedError } from '../errors.js';
import { gatehousePermissions as P } from '../authz/index.js';
import type { SessionWithUser } from '../storage/contract.js';
import { etagOf, fileResponse, importMap, scriptHash } from './assets.js';
import type { ResolvedUi } from './config.js';
import { html, raw, type SafeHtml } from './html.js';
import { stylesheet } from './styles.js';

/** The page scripts in src/ui/browser/. */
export type PageScript = 'sign-in' | 'sign-up' | 'recover' | 'account' | 'admin' | 'refresh';

export type NavItem = 'sign-in' | 'sign-up' | 'account' | 'admin';

export interface PageSpec {
  title: string;
  body: SafeHtml;
  script?: PageScript;
  status?: number;
  /** A single narrow column (the sign-in forms). */
  narrow?: boolean;
  current?: NavItem;
  headers?: Headers;
}

/** What the header needs to know about who is looking. */
export interface Viewer {
  found: SessionWithUser;
  /** May open the admin pages (any of the admin read permissions). */
  canAdmin: boolean;
}

export interface PageKit {
  ui: ResolvedUi;
  basePath: string;
  viewer(found: SessionWithUser | null): Viewer | null;
  page(viewer: Viewer | null, spec: PageSpec): Response;
  /** The HTML answer to a failed page request: same status as the JSON API would give. */
  errorPage(error: unknown, logger?: GatehouseLogger): Response;
  /** A page that only says something went wrong, for a viewer the page already knows (403s). */
  messagePage(viewer: Viewer | null, title: string, text: string, status: number): Response;
  stylesheet(ifNoneMatch: string | null): Response;
  redirect(location: string, status?: number): Response;
}

/** "45 seconds", "about 15 minutes". */
export function waitText(seconds: number): string {
  if (seconds < 90) return `${seconds} second${seconds === 1 ? '' : 's'}`;
  return `about ${Math.ceil(seconds / 60)} minutes`;
}

export function createPageKit(core: Core, ui: ResolvedUi): PageKit {
  const { basePath } = core.config;
  const map = importMap(basePath);
  // script-src: files from this origin, plus the import map by its hash (the only inline script).
  // No inline styles or event handlers anywhere; connect-src 'self' for the JSON API.
  const csp = [
    "default-src 'none'",
    `script-src 'self' ${scriptHash(map)}`,
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ');
  const css = stylesheet(ui.theme);
  const cssTag = etagOf(css);
  const asset = (path: string) => `${basePath}/assets/${path}`;

  const canAdmin = (found: SessionWithUser) => [P.usersRead, P.eventsRead].some((p) => core.config.authz.can(found.user.role, p));

  function nav(viewer: Viewer | null, current: NavItem | undefined): SafeHtml {
    const link = (item: NavItem, href: string, label: string) =>
      html`<a href="${href}"${raw(current === item ? ' aria-current="page"' : '')}>${label}</a>`;
    return html`<header class="gh-top"><nav aria-label="Main">
<a class="app" href="${ui.homePath}">${ui.appName}</a>
${ui.links.map((l) => html`<a href="${l.href}">${l.label}</a>`)}
${viewer === null ? '' : link('account', `${basePath}/account`, 'Account')}
${viewer?.canAdmin === true ? link('admin', `${basePath}/admin`, 'Admin') : ''}
<span class="who">${viewer === null
      ? html`${link('sign-in', `${basePath}/sign-in`, 'Sign in')} ${link('sign-up', `${basePath}/sign-up`, 'Create account')}`
      : html`<span>Signed in as <strong>${viewer.found.user.email}</strong></span>
<button class="secondary" type="button" data-action="sign-out">Sign out</button><span role="status" aria-live="polite"></span>`}</span>
</nav></header>`;
  }

  function page(viewer: Viewer | null, spec: PageSpec): Response {
    const body = html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<link rel="icon" href="data:,">
<title>${spec.title} · ${ui.appName}</title>
<link rel="stylesheet" href="${asset('ui.css')}">
${ui.stylesheet === null ? '' : html`<link rel="stylesheet" href="${ui.stylesheet}">`}
<script type="importmap">${raw(map)}</script>
<script type="module" src="${asset('ui/common.js')}"></script>
${spec.script === undefined ? '' : html`<script type="module" src="${asset(`ui/${spec.script}.js`)}"></script>`}
</head>
<body data-base="${basePath}" data-after-sign-in="${ui.afterSignInPath}" data-after-sign-out="${ui.afterSignOutPath}">
<a class="skip" href="#main">Skip to content</a>
${nav(viewer, spec.current)}
<main id="main"${raw(spec.narrow === true ? ' class="narrow"' : '')}>
${spec.body}
</main>
</body>
</html>`;
    const headers = new Headers(spec.headers);
    headers.set('content-type', 'text/html; charset=utf-8');
    // Pages show who is signed in: no shared or back-button cache may keep them (SESS-11).
    headers.set('cache-control', 'no-store');
    headers.set('content-security-policy', csp);
    headers.set('x-content-type-options', 'nosniff');
    headers.set('x-frame-options', 'DENY');
    headers.set('referrer-policy', 'same-origin');
    return new Response(body.value, { status: spec.status ?? 200, headers });
  }

  function message(title: string, text: SafeHtml | string, status: number, headers?: Headers, viewer: Viewer | null = null): Response {
    return page(viewer, {
      title,
      status,
      narrow: true,
      headers,
      body: html`<h1>${title}</h1><div class="card banner error" role="alert"><p>${text}</p></div>
<p>${viewer === null ? html`<a href="${basePath}/sign-in">Sign in</a>` : html`<a href="${basePath}/account">Your account</a>`} · <a href="${ui.homePath}">${ui.appName}</a></p>`,
    });
  }

  function errorPage(error: unknown, logger: GatehouseLogger = core.config.logger): Response {
    if (error instanceof AccessTokenExpiredError) {
      // JWT mode: the access cookie expired. The refresh cookie only travels to the refresh
      // endpoint, so the page asks the browser to refresh, then reloads (or goes to sign-in).
      return page(null, { title: 'Refreshing', status: 401, narrow: true, script: 'refresh', body: html`<h1>Refreshing your session…</h1><p role="status" aria-live="polite"></p>` });
    }
    if (error instanceof RateLimitedError) {
      const headers = new Headers({ 'retry-after': String(error.retryAfterSeconds) });
      return message('Too many requests', `Too many requests from your network. Wait ${waitText(error.retryAfterSeconds)} and reload the page.`, 429, headers);
    }
    if (error instanceof AuthError && error.status < 500) return message(error.status === 404 ? 'Page not found' : 'Cannot show this page', error.message, error.status);
    const status = error instanceof AuthError ? error.status : 500;
    if (!(error instanceof AuthError)) logger.error('unexpected error', { error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    else if (error.cause instanceof Error) logger.error(`${error.code}: ${error.message}`, { cause: error.cause.message });
    return message('Something went wrong', 'The sign-in service is having trouble. Wait a moment and reload the page.', status);
  }

  return {
    ui,
    basePath,
    viewer: (found) => (found === null ? null : { found, canAdmin: canAdmin(found) }),
    page,
    errorPage,
    messagePage: (viewer, title, text, status) => message(title, text, status, undefined, viewer),
    stylesheet: (ifNoneMatch) => fileResponse(css, cssTag, 'text/css; charset=utf-8', ifNoneMatch),
    redirect: (location, status = 303) => new Response(null, { status, headers: { location, 'cache-control': 'no-store' } }),
  };
}
