import type { Core } from '../../core.js';
import { NotFoundError, UnauthenticatedError } from '../../errors.js';
import type { JwtMode } from '../../jwt/jwt-mode.js';
import { expectNoBody } from '../body.js';
import { readUniqueCookie } from '../cookies.js';
import { json, toErrorResponse } from '../errors.js';
import { jwtCookies, REFRESH_COOKIE } from '../jwt-cookies.js';
import { withSignOutCookies } from '../session-cookies.js';
import { iso, type Route } from './types.js';

function jwtMode(core: Core): JwtMode {
  // Outside JWT mode these endpoints do not exist.
  if (core.jwt === undefined) throw new NotFoundError();
  return core.jwt;
}

/** JWT mode: refresh-token rotation and the public keys. */
export const tokenRoutes: Route[] = [
  {
    // POST only, CSRF-checked by the handler like every unsafe method, and rate limited (RT-06).
    method: 'POST',
    path: '/token/refresh',
    limit: 'refresh',
    async run(ctx) {
      const jwt = jwtMode(ctx.core);
      await expectNoBody(ctx.request);
      try {
        // A planted second refresh cookie (COOK-05) makes the refresh fail closed: signed out, no rotation.
        const { tokens, session, user } = await jwt.refresh(readUniqueCookie(ctx.request.headers.get('cookie'), REFRESH_COOKIE), { ip: ctx.ip, userAgent: ctx.userAgent });
        const headers = new Headers();
        for (const cookie of jwtCookies(tokens, ctx.core.config.basePath, ctx.core.config.now())) headers.append('set-cookie', cookie);
        return json(
          {
            user: { id: user.id, email: user.email, name: user.name, role: user.role },
            session: { id: session.id, expiresAt: iso(session.absoluteExpiresAt) },
            accessTokenExpiresAt: iso(tokens.accessExpiresAt),
          },
          200,
          headers,
        );
      } catch (error) {
        // A refresh that cannot succeed signs the browser out: no cookie is left to retry with.
        if (!(error instanceof UnauthenticatedError)) throw error;
        return toErrorResponse(error, ctx.core.config.logger, withSignOutCookies(ctx.core));
      }
    },
  },
  {
    method: 'GET',
    path: '/jwks.json',
    limit: 'session',
    async run(ctx) {
      const jwks = await jwtMode(ctx.core).jwks();
      // Public keys only (JWT-13). Cacheable: a verifier that meets an unknown kid refetches (jose does).
      return new Response(JSON.stringify(jwks), {
        status: 200,
        headers: { 'content-type': 'application/jwk-set+json', 'cache-control': 'public, max-age=300' },
      });
    },
  },
];
