import type { Core } from '../core.js';
import type { CreateSessionInput, CreatedSession } from '../sessions/sessions.js';
import type { SessionWithUser } from '../storage/contract.js';
import { clearedSessionCookie, readCookie, SESSION_COOKIE, sessionCookie } from './cookies.js';
import { ACCESS_COOKIE, clearedJwtCookies, jwtCookies, REFRESHABLE_COOKIE } from './jwt-cookies.js';
import type { AuthError } from '../errors.js';

/**
 * The one strategy switch for cookies: every sign-in (passkey, recovery, OAuth, the
 * public createSession) and every sign-out goes through here, so each method gets JWT
 * mode without knowing about it.
 */
export async function signInCookies(core: Core, created: CreatedSession): Promise<string[]> {
  const now = core.config.now();
  if (core.jwt === undefined) return [sessionCookie(created.token, (created.session.absoluteExpiresAt - now) / 1000)];
  const tokens = await core.jwt.issue(created.session, created.user);
  // A database-session cookie left from before a switch to JWT mode goes too.
  return [...jwtCookies(tokens, core.config.basePath, now), clearedSessionCookie()];
}

/** Set-Cookie values that sign the browser out (in JWT mode, a leftover database-session cookie too). */
export function signOutCookies(core: Core): string[] {
  if (core.jwt === undefined) return [clearedSessionCookie()];
  return [...clearedJwtCookies(core.config.basePath), clearedSessionCookie()];
}

/** Headers carrying the sign-out cookies. */
export function withSignOutCookies(core: Core, headers: Headers = new Headers()): Headers {
  for (const cookie of signOutCookies(core)) headers.append('set-cookie', cookie);
  return headers;
}

/** The signed-in session for a Cookie header, with the error to answer when there is none. */
export async function authenticateCookies(core: Core, cookieHeader: string | null): Promise<{ found: SessionWithUser | null; error: AuthError | null }> {
  if (core.jwt === undefined) return { found: await core.sessions.validate(readCookie(cookieHeader, SESSION_COOKIE)), error: null };
  return core.jwt.authenticate(readCookie(cookieHeader, ACCESS_COOKIE), readCookie(cookieHeader, REFRESHABLE_COOKIE) !== null);
}

/**
 * JWT mode: the session this browser holds, to end it at sign-in (SESS-03) or sign-out (SESS-07).
 * Named by a valid access token; else by an expired but authentic one; else, once the browser
 * dropped that cookie, by the browser marker in the refreshable cookie. Null in database mode,
 * where the session cookie itself names it. `current` is the request's already-authenticated
 * result, when the caller has it.
 */
export async function browserJwtSession(core: Core, cookieHeader: string | null, current?: SessionWithUser | null): Promise<{ sessionId: string; userId: string } | null> {
  const { jwt } = core;
  if (jwt === undefined) return null;
  const found = current !== undefined ? current : (await authenticateCookies(core, cookieHeader)).found;
  if (found !== null) return { sessionId: found.session.id, userId: found.user.id };
  const named = await jwt.sessionForSignOut(readCookie(cookieHeader, ACCESS_COOKIE));
  if (named !== null) return named;
  const marked = jwt.markedSession(readCookie(cookieHeader, REFRESHABLE_COOKIE));
  if (marked === null) return null;
  const stored = await (await core.storage()).findSessionWithUser(marked);
  return stored === null ? null : { sessionId: marked, userId: stored.user.id };
}

/**
 * Every sign-in's last step: a NEW session for the user, its cookies, and the end of this
 * browser's previous session (SESS-03; in database mode `sessions.create` ends it through
 * `input.previousToken`). Ordered so that a failure leaves the browser as it was: in JWT mode
 * the signing key is checked before anything is written (an instance with the wrong
 * `jwt.secret` answers 503 and signs nobody out), the previous session ends only once the new
 * one has its cookies, and a new session whose cookies cannot be made is ended again.
 */
export async function openSession(
  core: Core,
  userId: string,
  input: CreateSessionInput,
  cookieHeader: string | null,
  current?: SessionWithUser | null,
): Promise<{ created: CreatedSession; cookies: string[] }> {
  if (core.jwt !== undefined) await core.jwt.checkSigningKey();
  const previous = await browserJwtSession(core, cookieHeader, current);
  const created = await core.sessions.create(userId, input);
  const store = await core.storage();
  let cookies: string[];
  try {
    cookies = await signInCookies(core, created);
  } catch (error) {
    await store.deleteSession(created.session.id).catch(() => {});
    throw error;
  }
  if (previous !== null && previous.sessionId !== created.session.id) await store.deleteSession(previous.sessionId);
  return { created, cookies };
}
