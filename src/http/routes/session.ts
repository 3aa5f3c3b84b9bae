import { expectNoBody } from '../body.js';
import { clearedSessionCookie } from '../cookies.js';
import { json, noContent } from '../errors.js';
import { iso, type Route } from './types.js';

export const sessionRoutes: Route[] = [
  {
    method: 'GET',
    path: '/session',
    limit: 'session',
    async run(ctx) {
      const found = await ctx.current();
      if (found === null) {
        const response = json({ error: { code: 'UNAUTHENTICATED', message: 'Sign in to continue.' } }, 401);
        // A stale cookie is cleared so the browser stops sending it.
        if (ctx.token !== null) response.headers.append('set-cookie', clearedSessionCookie());
        return response;
      }
      const { user, session } = found;
      return json({
        user: { id: user.id, email: user.email, name: user.name, role: user.role },
        session: { id: session.id, createdAt: iso(session.createdAt), expiresAt: iso(session.expiresAt) },
      });
    },
  },
  {
    method: 'POST',
    path: '/sign-out',
    limit: 'session',
    async run(ctx) {
      await expectNoBody(ctx.request);
      const found = await ctx.current();
      if (found !== null) {
        const store = await ctx.core.storage();
        await store.deleteSession(found.session.id);
        await ctx.core.audit.record('session.signed_out', {
          userId: found.user.id,
          sessionId: found.session.id,
          ip: ctx.ip,
          userAgent: ctx.userAgent,
        });
      }
      // Idempotent: signing out twice still answers 204 and clears the cookie (SESS-07).
      return noContent({ 'set-cookie': clearedSessionCookie() });
    },
  },
];

