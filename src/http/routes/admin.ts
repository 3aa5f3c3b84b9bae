import { z } from 'zod';
import { gatehousePermissions as P } from '../../authz/index.js';
import { AUTH_EVENT_TYPES } from '../../audit/audit-log.js';
import { NotFoundError } from '../../errors.js';
import type { AuthEventRecord, UserRecord } from '../../storage/contract.js';
import type { Actor } from '../../users/users.js';
import { expectNoBody, parseInput, readJson } from '../body.js';
import type { RouteContext } from '../context.js';
import { json } from '../errors.js';
import { withSignOutCookies } from '../session-cookies.js';
import { iso, type Route } from './types.js';

const id = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);
const limit = z.coerce.number().int().min(1).max(100).default(50);

const listUsersQuery = z.object({ limit, cursor: id.optional(), q: z.string().max(200).optional() }).strict();
const listEventsQuery = z
  .object({
    limit,
    before: z.coerce.number().int().positive().optional(),
    userId: id.optional(),
    type: z.enum(AUTH_EVENT_TYPES as [string, ...string[]]).optional(),
  })
  .strict();
const patchUser = z
  .object({ role: z.string().min(1).max(32).optional(), disabled: z.boolean().optional() })
  .strict()
  .refine((v) => v.role !== undefined || v.disabled !== undefined, 'send "role" and/or "disabled"');

function query(ctx: RouteContext): Record<string, string> {
  return Object.fromEntries(ctx.url.searchParams);
}

function publicUser(u: UserRecord) {
  return { id: u.id, email: u.email, name: u.name, role: u.role, disabled: u.disabled, createdAt: iso(u.createdAt) };
}

function publicEvent(e: AuthEventRecord) {
  return {
    id: e.id,
    type: e.type,
    userId: e.userId,
    actorId: e.actorId,
    sessionId: e.sessionId,
    ip: e.ip,
    userAgent: e.userAgent,
    data: e.data,
    createdAt: iso(e.createdAt),
  };
}

async function actorFor(ctx: RouteContext, permission: string, fresh: boolean): Promise<Actor> {
  const found = await ctx.requirePermission(permission);
  if (fresh) ctx.requireFresh(found);
  return { userId: found.user.id, role: found.user.role, permission, ip: ctx.ip, userAgent: ctx.userAgent };
}

function userId(ctx: RouteContext): string {
  const parsed = id.safeParse(ctx.params.id);
  if (!parsed.success) throw new NotFoundError('No such user.');
  return parsed.data;
}

/** Keyset paging: the store was asked for one row more than the page, which says whether a next page exists. */
function paged<T, C>(rows: T[], limit: number, cursorOf: (row: T) => C): { page: T[]; nextCursor: C | null } {
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return { page, nextCursor: rows.length > limit && last !== undefined ? cursorOf(last) : null };
}

/** Admin endpoints: each guarded by a permission from the app's authz table, never a role name (AUTHZ-01). */
export const adminRoutes: Route[] = [
  {
    method: 'GET',
    path: '/admin/users',
    limit: 'admin',
    async run(ctx) {
      await ctx.requirePermission(P.usersRead);
      const q = parseInput(listUsersQuery, query(ctx));
      const store = await ctx.core.storage();
      const { page, nextCursor } = paged(await store.listUsers({ limit: q.limit + 1, after: q.cursor, search: q.q }), q.limit, (u) => u.id);
      return json({ users: page.map(publicUser), nextCursor });
    },
  },
  {
    method: 'PATCH',
    path: '/admin/users/:id',
    limit: 'admin',
    async run(ctx) {
      const actor = await actorFor(ctx, P.usersManage, true);
      const target = userId(ctx);
      const body = parseInput(patchUser, await readJson(ctx.request, ctx.core.config.maxBodyBytes));
      let user: UserRecord | undefined;
      if (body.role !== undefined) user = await ctx.core.users.setRole(target, body.role, actor);
      if (body.disabled !== undefined) user = await ctx.core.users.setDisabled(target, body.disabled, actor);
      if (user === undefined) throw new NotFoundError('No such user.');
      return json({ user: publicUser(user) });
    },
  },
  {
    method: 'POST',
    path: '/admin/users/:id/revoke-sessions',
    limit: 'admin',
    async run(ctx) {
      await expectNoBody(ctx.request);
      const actor = await actorFor(ctx, P.sessionsRevoke, true);
      const target = userId(ctx);
      const revoked = await ctx.core.users.revokeSessions(target, actor);
      // An admin who ends their own sessions is signed out here too.
      return json({ revoked }, 200, target === actor.userId ? withSignOutCookies(ctx.core) : undefined);
    },
  },
  {
    method: 'GET',
    path: '/admin/events',
    limit: 'admin',
    async run(ctx) {
      await ctx.requirePermission(P.eventsRead);
      const q = parseInput(listEventsQuery, query(ctx));
      const store = await ctx.core.storage();
      const events = await store.listEvents({ limit: q.limit + 1, before: q.before, userId: q.userId, type: q.type });
      const { page, nextCursor } = paged(events, q.limit, (e) => e.id);
      return json({ events: page.map(publicEvent), nextCursor });
    },
  },
];
