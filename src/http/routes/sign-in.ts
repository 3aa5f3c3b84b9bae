import { ipKey } from '../../protect/client-ip.js';
import type { LimitName } from '../../config/options.js';
import type { RouteContext } from '../context.js';
import { openSession, signInCookies } from '../session-cookies.js';
import { json } from '../errors.js';
import { clearedCeremonyCookie } from '../../passkeys/ceremony.js';
import type { CreatedSession } from '../../sessions/sessions.js';
import { UnauthenticatedError } from '../../errors.js';
import type { PasskeyUse } from '../../storage/contract.js';
import { iso } from './types.js';

/**
 * Ends a sign-in: a NEW session (the browser's previous one ends, SESS-03), the session
 * cookie, the ceremony cookie cleared, and `{ user, session }` without any token (SESS-11).
 */
export async function signInResponse(
  ctx: RouteContext,
  userId: string,
  method: string,
  status = 200,
  extra: Record<string, unknown> = {},
  proof: SignInProof = {},
): Promise<Response> {
  const { created, headers } = await startSession(ctx, userId, method, proof);
  const { user } = created;
  headers.append('set-cookie', clearedCeremonyCookie());
  return json(
    {
      user: { id: user.id, email: user.email, name: user.name, role: user.role },
      session: { id: created.session.id, createdAt: iso(created.session.createdAt), expiresAt: iso(created.session.expiresAt) },
      ...extra,
    },
    status,
    headers,
  );
}

/** What a sign-in writes in its session's transaction besides the session. */
export interface SignInProof {
  /** A passkey sign-in: the counter the assertion moves the passkey to. */
  passkeyUse?: PasskeyUse;
  /** A recovery sign-in: the code to burn (the hashes it may be stored under); the account's other sessions end with it. */
  recoveryCodeHashes?: string[];
}

/** Creates the new session (ending this browser's previous one, SESS-03) and the Set-Cookie that carries it. */
export async function startSession(
  ctx: RouteContext,
  userId: string,
  method: string,
  { passkeyUse, recoveryCodeHashes }: SignInProof = {},
): Promise<{ created: CreatedSession; headers: Headers }> {
  const { core } = ctx;
  // JWT mode: the browser's previous session is named by its access token or, once that cookie
  // expired, by the browser marker in the refreshable cookie.
  const { created, cookies } = await openSession(
    core,
    userId,
    {
      method,
      ip: ctx.ip,
      userAgent: ctx.userAgent,
      previousToken: ctx.token,
      ...(passkeyUse ? { passkeyUse } : {}),
      ...(recoveryCodeHashes !== undefined ? { recoveryCodeHashes } : {}),
    },
    ctx.request.headers.get('cookie'),
    core.jwt === undefined ? null : await ctx.current(),
  );
  const headers = new Headers();
  // Database mode: the session cookie; JWT mode: access, refresh and "refreshable" cookies.
  for (const cookie of cookies) headers.append('set-cookie', cookie);
  return { created, headers };
}

/**
 * SESS-04: after a credential change (a passkey added or deleted, a provider linked or unlinked,
 * new recovery codes) the browser gets a new session token and the old one stops working. The
 * new session keeps the old one's authentication time, methods and absolute end. Returns the
 * Set-Cookie headers to send with the route's answer.
 */
export async function rotateSession(ctx: RouteContext, current: { user: { id: string }; session: { id: string } }): Promise<Headers> {
  const { core } = ctx;
  const store = await core.storage();
  const stored = await store.findSessionWithUser(current.session.id);
  // Ended meanwhile (signed out elsewhere): there is nothing to rotate.
  if (stored === null) throw new UnauthenticatedError('This session has ended. Sign in again.');
  const { authTime, amr, absoluteExpiresAt } = stored.session;
  // The new session first: if that fails, the old one still works and nothing changed.
  const created = await core.sessions.create(current.user.id, { method: 'rotation', ip: ctx.ip, userAgent: ctx.userAgent, previousToken: null, carry: { authTime, amr, absoluteExpiresAt }, replaces: current.session.id });
  // Then the old one ends, and only one rotation can end it: of two at once (a form sent twice),
  // the one that finds it already gone ends its own new session too and answers 401, so the
  // user never holds two sessions, and the route changes nothing more (new recovery codes are
  // made only after this).
  let ended: boolean;
  try {
    ended = await store.deleteSession(current.session.id);
  } catch (error) {
    await store.deleteSession(created.session.id).catch(() => {});
    throw error;
  }
  if (!ended) {
    await store.deleteSession(created.session.id).catch(() => {});
    throw new UnauthenticatedError('This session has ended. Sign in again.');
  }
  const headers = new Headers();
  for (const cookie of await signInCookies(core, created)) headers.append('set-cookie', cookie);
  return headers;
}

/**
 * RATE-01/02: runs a credential attempt against the failed-credential budgets of the client
 * (and of the account, when one is named). A point is taken from each BEFORE the attempt, so
 * attempts running at the same time cannot all pass a check and only pay afterwards (a burst
 * of 50 parallel guesses all got through that way). The point is given back unless the attempt
 * failed on the credential itself (`failedCredential`): a success, a malformed request or a
 * database outage costs nothing, as before.
 */
export async function withCredentialBudget<T>(ctx: RouteContext, account: string | undefined, attempt: () => Promise<T>, failedCredential: (error: unknown) => boolean): Promise<T> {
  const limiter = await ctx.core.limiter();
  const budgets: [LimitName, string][] = [['credentialIp', ipKey(ctx.ip)]];
  if (account !== undefined) budgets.push(['credentialAccount', `account:${account}`]);
  const taken: [LimitName, string][] = [];
  const giveBack = async () => {
    for (const [name, key] of taken) await limiter.refund(name, key).catch(() => {});
  };
  try {
    for (const [name, key] of budgets) {
      await limiter.consume(name, key);
      taken.push([name, key]);
    }
  } catch (error) {
    await giveBack();
    throw error;
  }
  let counted = false;
  try {
    return await attempt();
  } catch (error) {
    counted = failedCredential(error);
    throw error;
  } finally {
    if (!counted) await giveBack();
  }
}
