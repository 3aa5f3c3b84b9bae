import { z } from 'zod';
import { NotFoundError, ConflictError, AuthError } from '../../errors.js';
import type { ResolvedProvider } from '../../oauth/config.js';
import { resolveIdentity } from '../../oauth/accounts.js';
import { clearedOAuthCookie, OAuthError, type OAuthFlow } from '../../oauth/flow.js';
import { safeReturnPath } from '../../oauth/return-path.js';
import type { IdentityRecord, OAuthTransactionRecord } from '../../storage/contract.js';
import { parseInput, readJson } from '../body.js';
import type { RouteContext } from '../context.js';
import { json, NO_STORE, noContent } from '../errors.js';
import { rotateSession, startSession } from './sign-in.js';
import { iso, type Route } from './types.js';

const linkBody = z.object({ returnTo: z.string().max(512).optional() }).strict();
const identityId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);

function flowOf(ctx: RouteContext): OAuthFlow {
  if (ctx.core.oauth === null) throw new NotFoundError('No sign-in providers are configured.');
  return ctx.core.oauth;
}

function providerOf(ctx: RouteContext): ResolvedProvider {
  const found = flowOf(ctx).settings.providers.get(ctx.params.provider ?? '');
  if (found === undefined) throw new NotFoundError('No such sign-in provider.');
  return found;
}

/** A browser navigation gets redirects and pages; an API client gets JSON. */
function wantsHtml(request: Request): boolean {
  return (request.headers.get('accept') ?? '').includes('text/html');
}

/**
 * Responses of the start and callback navigations: never cached, and never sending the
 * callback URL (which carries the code) onward in Referer.
 */
function redirect(location: string, cookies: string[] = []): Response {
  const headers = new Headers({ location, 'cache-control': NO_STORE, 'referrer-policy': 'no-referrer' });
  for (const cookie of cookies) headers.append('set-cookie', cookie);
  return new Response(null, { status: 302, headers });
}

type Attempt = Pick<OAuthTransactionRecord, 'intent' | 'returnTo'>;

/** `path` with `error=CODE` added to its query. */
function withError(path: string, code: string): string {
  const url = new URL(path, 'https://placeholder.invalid');
  url.searchParams.set('error', code);
  return `${url.pathname}${url.search}${url.hash}`;
}

/**
 * Failed navigations land on the app's error page (`errorPath?error=CODE`), or back where a
 * link was started, with the transaction cookie cleared; API clients get the JSON error.
 */
async function fail(ctx: RouteContext, error: unknown, providerId: string, known: Attempt | null): Promise<Response> {
  const attempt = known ?? (error instanceof OAuthError ? error.attempt : null);
  // Every outcome is in the audit log, failures included (whatever threw).
  const reason = error instanceof OAuthError ? error.reason : error instanceof AuthError ? error.code : 'internal_error';
  await ctx.core.audit
    .record('oauth.failed', { ip: ctx.ip, userAgent: ctx.userAgent, data: { provider: providerId, intent: attempt?.intent ?? 'unknown', reason } })
    .catch(() => {});
  if (!(error instanceof AuthError) || !wantsHtml(ctx.request)) throw error;
  const target = attempt?.intent === 'link' ? withError(attempt.returnTo, error.code) : withError(flowOf(ctx).settings.errorPath, error.code);
  // No attempt was taken (a forged or stale callback): the cookie may belong to an attempt still
  // under way in this browser, so it stays; clearing it would let any page cancel a sign-in.
  const untouched = error instanceof OAuthError && error.reason === 'no_transaction';
  return redirect(target, untouched ? [] : [clearedOAuthCookie()]);
}

export function publicIdentity(identity: IdentityRecord, providerName: string | undefined) {
  return {
    id: identity.id,
    provider: identity.provider,
    providerName: providerName ?? identity.provider,
    email: identity.email,
    emailVerified: identity.emailVerified,
    createdAt: iso(identity.createdAt),
    lastUsedAt: identity.lastUsedAt === null ? null : iso(identity.lastUsedAt),
  };
}

export const oauthRoutes: Route[] = [
  {
    method: 'GET',
    path: '/oauth/providers',
    limit: 'session',
    async run(ctx) {
      const providers = ctx.core.oauth === null ? [] : [...ctx.core.oauth.settings.providers.values()];
      return json({
        providers: providers.map((rp) => ({ id: rp.provider.id, name: rp.provider.name, kind: rp.provider.kind, signInUrl: `${ctx.core.config.basePath}/oauth/${rp.provider.id}` })),
      });
    },
  },
  {
    method: 'GET',
    path: '/oauth/:provider',
    writes: true,
    // Starting is throttled per client, and pending transactions are bounded per IP (RATE-04).
    limit: 'ceremony',
    async run(ctx) {
      const rp = providerOf(ctx);
      try {
        const { url, setCookie } = await flowOf(ctx).start({
          request: ctx.request,
          provider: rp,
          intent: 'signin',
          returnTo: safeReturnPath(ctx.url.searchParams.get('returnTo')),
          userId: null,
          ip: ctx.ip,
        });
        return redirect(url, [setCookie]);
      } catch (error) {
        return fail(ctx, error, rp.provider.id, { intent: 'signin', returnTo: '/' });
      }
    },
  },
  {
    method: 'GET',
    path: '/oauth/:provider/callback',
    writes: true,
    limit: 'ceremony',
    async run(ctx) {
      const rp = providerOf(ctx);
      let attempt: Attempt | null = null;
      try {
        const { transaction, identity } = await flowOf(ctx).callback(ctx.request, rp);
        attempt = transaction;
        const signedIn = await ctx.current();
        const outcome = await resolveIdentity(ctx.core, flowOf(ctx), rp, transaction, identity, signedIn?.user.id ?? null);
        const base = { userId: outcome.user.id, ip: ctx.ip, userAgent: ctx.userAgent };
        const data = { provider: rp.provider.id, identityId: outcome.identity.id };
        if (outcome.kind === 'signed_up') await ctx.core.audit.record('user.created', { ...base, data: { role: outcome.user.role, via: `oauth:${rp.provider.id}` } });
        if (outcome.kind === 'linked') await ctx.core.audit.record('oauth.linked', { ...base, sessionId: signedIn?.session.id ?? null, data: { ...data, automatic: outcome.automatic } });
        if (transaction.intent === 'link') {
          // A new credential on the account: a new session token too (SESS-04).
          const rotated = signedIn === null ? [] : (await rotateSession(ctx, signedIn)).getSetCookie();
          return redirect(transaction.returnTo, [...rotated, clearedOAuthCookie()]);
        }
        // No session exists until every check above passed (OIDC-14).
        const { headers } = await startSession(ctx, outcome.user.id, 'oauth');
        await ctx.core.audit.record('oauth.signed_in', { ...base, data });
        return redirect(transaction.returnTo, [...headers.getSetCookie(), clearedOAuthCookie()]);
      } catch (error) {
        return fail(ctx, error, rp.provider.id, attempt);
      }
    },
  },
  {
    method: 'POST',
    path: '/oauth/:provider/link',
    limit: 'ceremony',
    async run(ctx) {
      const rp = providerOf(ctx);
      const found = await ctx.requireSession();
      // SESS-10: linking a way to sign in needs a recent sign-in.
      ctx.requireFresh(found);
      const isJson = (ctx.request.headers.get('content-type') ?? '').startsWith('application/json');
      const input = isJson ? parseInput(linkBody, await readJson(ctx.request, ctx.core.config.maxBodyBytes)) : {};
      const { url, setCookie } = await flowOf(ctx).start({
        request: ctx.request,
        provider: rp,
        intent: 'link',
        returnTo: safeReturnPath(input.returnTo ?? ctx.url.searchParams.get('returnTo')),
        userId: found.user.id,
        ip: ctx.ip,
      });
      if (wantsHtml(ctx.request) && !isJson) return redirect(url, [setCookie]);
      return json({ url }, 200, { 'set-cookie': setCookie });
    },
  },
  {
    method: 'GET',
    path: '/accounts',
    limit: 'session',
    async run(ctx) {
      const found = await ctx.requireSession();
      const store = await ctx.core.storage();
      const names = ctx.core.oauth?.settings.providers;
      const identities = await store.listIdentities(found.user.id);
      return json({ accounts: identities.map((i) => publicIdentity(i, names?.get(i.provider)?.provider.name)) });
    },
  },
  {
    method: 'DELETE',
    path: '/accounts/:id',
    limit: 'ceremony',
    async run(ctx) {
      const found = await ctx.requireSession();
      ctx.requireFresh(found);
      const id = identityId.safeParse(ctx.params.id);
      if (!id.success) throw new NotFoundError('No such linked account.');
      const store = await ctx.core.storage();
      // Only the caller's own identities (AUTHZ-02); never the last way to sign in.
      const result = await store.deleteIdentity(id.data, found.user.id);
      if (result === 'not_found') throw new NotFoundError('No such linked account.');
      if (result === 'last_method') {
        throw new ConflictError('LAST_SIGN_IN_METHOD', 'This is your only way to sign in. Add a passkey or link another provider first.');
      }
      await ctx.core.audit.record('oauth.unlinked', { userId: found.user.id, sessionId: found.session.id, ip: ctx.ip, userAgent: ctx.userAgent, data: { identityId: id.data } });
      return noContent(await rotateSession(ctx, found));
    },
  },
];
