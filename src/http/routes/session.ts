import { z } from 'zod';
import { displayText, expectNoBody, parseInput, readJson } from '../body.js';
import { clearedSessionCookie } from '../cookies.js';
import { browserJwtSession, withSignOutCookies } from '../session-cookies.js';
import { json, noContent } from '../errors.js';
import { iso, type Route } from './types.js';

/** The profile fields a user may change themself; anything else (role, email, id) is a 400 (AUTHZ-03). */
const profileBody = z.object({ name: displayText(100) }).strict();

export const sessionRoutes: Route[] = [
  {
    method: 'GET',
    path: '/session',
    limit: 'session',
    async run(ctx) {
      // JWT mode answers why (ACCESS_TOKEN_EXPIRED: refresh and retry).
      const found = ctx.core.jwt === undefined ? await ctx.current() : await ctx.requireSession();
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
    // The signed-in user's own profile. Not "fresh": a display name is not a credential.
    method: 'PATCH',
    path: '/user',
    limit: 'session',
    async run(ctx) {
      const found = await ctx.requireSession();
      const { name } = parseInput(profileBody, await readJson(ctx.request, ctx.core.config.maxBodyBytes));
      const user = await ctx.core.users.setName(found.user.id, name, { userId: found.user.id, role: found.user.role, ip: ctx.ip, userAgent: ctx.userAgent });
      return json({ user: { id: user.id, email: user.email, name: user.name, role: user.role } });
    },
  },
  {
    method: 'POST',
    path: '/sign-out',
    limit: 'session',
    async run(ctx) {
      await expectNoBody(ctx.request);
      const current = await ctx.current();
      // JWT mode: an expired but authentic access token, or once the browser dropped that cookie
      // the browser marker, still names the session to end (SESS-07).
      const found =
        current !== null ? { sessionId: current.session.id, userId: current.user.id } : await browserJwtSession(ctx.core, ctx.request.headers.get('cookie'), null);
      if (found !== null) {
        const store = await ctx.core.storage();
        // Ends the session and, in JWT mode, its refresh family and access tokens on every instance.
        const ended = await store.deleteSession(found.sessionId);
        if (ended || current !== null) await ctx.core.audit.record('session.signed_out', {
          userId: found.userId,
          sessionId: found.sessionId,
          ip: ctx.ip,
          userAgent: ctx.userAgent,
        });
      }
      // Idempotent: signing out twice still answers 204 and clears the cookie (SESS-07).
      return noContent(withSignOutCookies(ctx.core));
    },
  },
];

