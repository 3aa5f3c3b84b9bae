// Sends signed-out visitors of the protected pages to /sign-in?next=/the/page before rendering.
// This is a convenience, not the security check: the pages and actions call getSession() /
// requirePermission(), which check the session on every request.
// gatehouse/next/middleware and gatehouse/verify are edge-safe, so the same code works in a
// middleware.ts on the edge.
import { createAuthMiddleware } from 'gatehouse/next/middleware';
import { verifyAccessToken } from 'gatehouse/verify';

const origin = process.env.GATEHOUSE_ORIGIN ?? `http://localhost:${process.env.PORT ?? '3000'}`;

const gate = createAuthMiddleware({
  protect: ['/dashboard', '/account'],
  signInPath: '/sign-in',
  // JWT mode (GATEHOUSE_SESSION_STRATEGY=jwt): the access token's signature and claims are checked
  // here against the app's JWKS, without a database. Database sessions: the cookie's presence only.
  verify:
    process.env.GATEHOUSE_SESSION_STRATEGY === 'jwt'
      ? (token) => verifyAccessToken(token, { issuer: origin, audience: origin, jwks: `${origin}/auth/jwks.json` })
      : undefined,
});

export default async function proxy(request: Request): Promise<Response | undefined> {
  return gate(request);
}

export const config = { matcher: ['/dashboard/:path*', '/account/:path*'] };
