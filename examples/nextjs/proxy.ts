// Sends signed-out visitors of the protected pages to /sign-in?next=/the/page before rendering.
// This is a convenience, not the security check: the pages and actions call getSession() /
// requirePermission(), which check the session in the database on every request.
// gatehouse/next/middleware is edge-safe, so the same code works in a middleware.ts on the edge.
import { createAuthMiddleware } from 'gatehouse/next/middleware';

const gate = createAuthMiddleware({ protect: ['/dashboard', '/account'], signInPath: '/sign-in' });

export default async function proxy(request: Request): Promise<Response | undefined> {
  return gate(request);
}

export const config = { matcher: ['/dashboard/:path*', '/account/:path*'] };
