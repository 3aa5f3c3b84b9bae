import { NotFoundError } from '../../errors.js';
import { expectNoBody } from '../body.js';
import { withSignOutCookies } from '../session-cookies.js';
import { json, noContent } from '../errors.js';
import type { RouteContext } from '../context.js';
import { iso, type Route } from './types.js';

/**
 * Ends the signed-in user's other sessions, or all of them. Both need a fresh sign-in: with
 * a stolen cookie, "sign out everywhere else" would lock the real user out (SESS-10).
 */
async function endOwnSessions(ctx: RouteContext, scope: 'others' | 'all'): Promise<number> {
  await expectNoBody(ctx.request);
  const found = await ctx.requireSession();
  ctx.requireFresh(found);
  const store = await ctx.core.storage();
  const ended = await store.deleteUserSessions(found.user.id, scope === 'others' ? found.session.id : undefined);
  await ctx.core.audit.record('session.revoked', {
    userId: found.user.id,
    actorId: found.user.id,
    sessionId: found.session.id,
    ip: ctx.ip,
    userAgent: ctx.userAgent,
    data: { scope, by: 'user', count: ended.length },
  });
  return ended.length;
}

/** A user's own devices: list, end one, end all others, end all (SESS-08, AUTHZ-02). */
export const sessionsRoutes: Route[] = [
  {
    method: 'GET',
    path: '/sessions',
    limit: 'session',
    async run(ctx) {
      const { user, session: current } = await ctx.requireSession();
      const store = await ctx.core.storage();
      const sessions = await store.listUserSessions(user.id);
      return json({
        sessions: sessions.map((s) => ({
          id: s.id,
          current: s.id === current.id,
          createdAt: iso(s.createdAt),
          lastSeenAt: iso(s.lastSeenAt),
          expiresAt: iso(s.expiresAt),
          method: s.amr[0] ?? null,
          ip: s.ip,
          userAgent: s.userAgent,
        })),
      });
    },
  },
  {
    method: 'DELETE',
    path: '/sessions/:id',
    limit: 'session',
    async run(ctx) {
      await expectNoBody(ctx.request);
      const { user, session: current } = await ctx.requireSession();
      const id = ctx.params.id ?? '';
      const store = await ctx.core.storage();
      // Scoped to the signed-in user: another user's session id is "not found", not "forbidden" (no IDOR, no probing).
      const deleted = await store.deleteSession(id, user.id);
      if (!deleted) throw new NotFoundError('No such session.');
      await ctx.core.audit.record('session.revoked', {
        userId: user.id,
        actorId: user.id,
        sessionId: id,
        ip: ctx.ip,
        userAgent: ctx.userAgent,
        data: { scope: 'one', by: 'user' },
      });
      return noContent(id === current.id ? withSignOutCookies(ctx.core) : undefined);
    },
  },
  {
    method: 'POST',
    path: '/sessions/revoke-others',
    limit: 'session',
    async run(ctx) {
      const ended = await endOwnSessions(ctx, 'others');
      return json({ revoked: ended });
    },
  },
  {
    method: 'POST',
    path: '/sessions/revoke-all',
    limit: 'session',
    async run(ctx) {
      await endOwnSessions(ctx, 'all');
      return noContent(withSignOutCookies(ctx.core));
    },
  },
];
