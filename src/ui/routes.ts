import { z } from 'zod';
import { gatehousePermissions as P } from '../authz/index.js';
import { AUTH_EVENT_TYPES } from '../audit/audit-log.js';
import { AccessTokenExpiredError, NotFoundError } from '../errors.js';
import type { RouteContext } from '../http/context.js';
import type { Route } from '../http/routes/types.js';
import type { SessionWithUser } from '../storage/contract.js';
import { readAsset, type AssetFolder } from './assets.js';
import type { PageKit, Viewer } from './layout.js';
import { accountPage } from './pages/account.js';
import { eventsPage, usersPage, type AdminCaps } from './pages/admin.js';
import { recoverPage, signInPage, signUpPage, type ProviderButton } from './pages/auth.js';

const PAGE_SIZE = 50;
const id = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);
const FOLDERS: readonly AssetFolder[] = ['client', 'simplewebauthn', 'ui'];

function providers(ctx: RouteContext): ProviderButton[] {
  return ctx.core.oauth === null ? [] : [...ctx.core.oauth.settings.providers.values()].map(({ provider }) => ({ id: provider.id, name: provider.name }));
}

/** A query parameter the page can use, or null: a page ignores a malformed filter rather than failing. */
function param<T>(ctx: RouteContext, name: string, schema: z.ZodType<T>): T | null {
  const parsed = schema.safeParse(ctx.url.searchParams.get(name) ?? undefined);
  return parsed.success ? parsed.data : null;
}

/**
 * The signed-in viewer, or a redirect to the sign-in page that comes back here. JWT mode's
 * "access token expired" goes to the error page, which refreshes and reloads.
 */
async function signedIn(kit: PageKit, ctx: RouteContext): Promise<Viewer | Response> {
  let found: SessionWithUser;
  try {
    found = await ctx.requireSession();
  } catch (error) {
    if (error instanceof AccessTokenExpiredError) throw error;
    const back = `${ctx.url.pathname}${ctx.url.search}`;
    return kit.redirect(`${kit.basePath}/sign-in?next=${encodeURIComponent(back)}`);
  }
  const viewer = kit.viewer(found);
  if (viewer === null) throw new Error('unreachable: a found session has a viewer');
  return viewer;
}

function capsOf(ctx: RouteContext, viewer: Viewer): AdminCaps {
  const can = (permission: string) => ctx.core.config.authz.can(viewer.found.user.role, permission);
  return { readUsers: can(P.usersRead), manageUsers: can(P.usersManage), revokeSessions: can(P.sessionsRevoke), readEvents: can(P.eventsRead) };
}

/** The built-in pages and their assets, under the base path (docs/ui.md). */
export function uiRoutes(kit: PageKit): Route[] {
  const page = (path: string, run: (ctx: RouteContext) => Promise<Response>): Route => ({ method: 'GET', path, limit: 'session', page: true, run });
  return [
    page('/sign-in', async (ctx) => signInPage(kit, kit.viewer(await ctx.current().catch(() => null)), providers(ctx), ctx.url.searchParams)),
    page('/sign-up', async (ctx) => signUpPage(kit, kit.viewer(await ctx.current().catch(() => null)), providers(ctx), ctx.url.searchParams)),
    page('/recover', async (ctx) => recoverPage(kit, kit.viewer(await ctx.current().catch(() => null)))),
    page('/account', async (ctx) => {
      const viewer = await signedIn(kit, ctx);
      if (viewer instanceof Response) return viewer;
      const store = await ctx.core.storage();
      const userId = viewer.found.user.id;
      const [passkeys, sessions, recoveryCodes, identities] = await Promise.all([
        store.listPasskeys(userId),
        store.listUserSessions(userId),
        store.countRecoveryCodes(userId),
        store.listIdentities(userId),
      ]);
      return accountPage(kit, viewer, { passkeys, sessions, recoveryCodes, identities, providers: providers(ctx), query: ctx.url.searchParams });
    }),
    page('/admin', async (ctx) => {
      const viewer = await signedIn(kit, ctx);
      if (viewer instanceof Response) return viewer;
      const caps = capsOf(ctx, viewer);
      if (!caps.readUsers) {
        if (caps.readEvents) return kit.redirect(`${kit.basePath}/admin/audit`);
        return kit.messagePage(viewer, 'Cannot show this page', 'Your role cannot open the admin pages.', 403);
      }
      const search = param(ctx, 'q', z.string().trim().max(200)) ?? '';
      const cursor = param(ctx, 'cursor', id);
      const store = await ctx.core.storage();
      const rows = await store.listUsers({ limit: PAGE_SIZE + 1, after: cursor ?? undefined, search: search === '' ? undefined : search });
      const users = rows.slice(0, PAGE_SIZE);
      const nextCursor = rows.length > PAGE_SIZE ? (users.at(-1)?.id ?? null) : null;
      return usersPage(kit, ctx.core.config.authz, viewer, caps, { users, search, cursor, nextCursor });
    }),
    page('/admin/audit', async (ctx) => {
      const viewer = await signedIn(kit, ctx);
      if (viewer instanceof Response) return viewer;
      const caps = capsOf(ctx, viewer);
      if (!caps.readEvents) return kit.messagePage(viewer, 'Cannot show this page', 'Your role cannot read the audit log.', 403);
      const store = await ctx.core.storage();
      const userFilter = param(ctx, 'user', z.string().trim().max(320)) ?? '';
      const typeFilter = param(ctx, 'type', z.enum(AUTH_EVENT_TYPES as [string, ...string[]])) ?? '';
      const before = param(ctx, 'before', z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER));
      // The user filter takes an email or an id; an email only for a role that may read users
      // (users.read): the page must not show, or confirm, more than /auth/admin/events gives.
      let userId: string | undefined;
      let unknownUser = false;
      const byEmail = userFilter.includes('@');
      if (userFilter !== '' && (!byEmail || caps.readUsers)) {
        const user = byEmail ? await store.findUserByEmail(userFilter) : id.safeParse(userFilter).success ? await store.findUserById(userFilter) : null;
        if (user === null) unknownUser = true;
        else userId = user.id;
      }
      const emailNotAllowed = byEmail && !caps.readUsers;
      const rows = unknownUser || emailNotAllowed ? [] : await store.listEvents({ limit: PAGE_SIZE + 1, before: before ?? undefined, userId, type: typeFilter === '' ? undefined : typeFilter });
      const events = rows.slice(0, PAGE_SIZE);
      const nextBefore = rows.length > PAGE_SIZE ? (events.at(-1)?.id ?? null) : null;
      const ids = new Set(events.flatMap((e) => [e.userId, e.actorId]).filter((v): v is string => v !== null));
      const users = caps.readUsers ? await Promise.all([...ids].map((uid) => store.findUserById(uid))) : [];
      const emails = new Map(users.flatMap((u) => (u === null ? [] : [[u.id, u.email] as const])));
      return eventsPage(kit, viewer, caps, {
        events,
        emails,
        types: AUTH_EVENT_TYPES,
        filter: { user: userFilter, type: typeFilter },
        unknownUser,
        emailNotAllowed,
        before,
        nextBefore,
      });
    }),
    {
      method: 'GET',
      path: '/assets/ui.css',
      limit: null,
      page: true,
      run: (ctx) => Promise.resolve(kit.stylesheet(ctx.request.headers.get('if-none-match'))),
    },
    {
      method: 'GET',
      path: '/assets/:folder/*',
      // Static files, read once and kept in memory: cheap enough not to spend the client's limits.
      limit: null,
      page: true,
      async run(ctx) {
        const folder = FOLDERS.find((f) => f === ctx.params.folder);
        const file = folder === undefined ? null : await readAsset(folder, ctx.params['*'] ?? '', ctx.request.headers.get('if-none-match'));
        if (file === null) throw new NotFoundError();
        return file;
      },
    },
  ];
}
