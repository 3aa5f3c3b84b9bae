import { z } from 'zod';
import { BadRequestError, ConflictError, NotFoundError } from '../../errors.js';
import { CeremonyError, takeCeremony } from '../../passkeys/ceremony.js';
import { createAuthenticationOptions, verifyAssertion } from '../../passkeys/authentication.js';
import { createAccountWithPasskey, createRegistrationOptions, newUserId, verifyRegistration } from '../../passkeys/registration.js';
import { authenticationResponse, PasskeyVerificationError, registrationResponse } from '../../passkeys/verify-input.js';
import type { PasskeyRecord } from '../../storage/contract.js';
import { displayText, parseInput, readJson } from '../body.js';
import { isPlainEmailText } from '../../lib/text.js';
import type { RouteContext } from '../context.js';
import { json, noContent, toErrorResponse } from '../errors.js';
import { PasskeyCounterRaceError } from '../../sessions/sessions.js';
import { rotateSession, signInResponse, withCredentialBudget } from './sign-in.js';
import { iso, type Route } from './types.js';

const email = z.string().trim().min(3).max(320).regex(/^[^\s@\p{Cc}]+@[^\s@\p{Cc}]+$/u, 'enter an address like name@example.com')
  .refine(isPlainEmailText, 'enter an address like name@example.com (no invisible or direction-changing characters)');
const passkeyName = displayText(64, 1);
const signUpBody = z.object({ email, name: displayText(100).default('') }).strict();
const emptyBody = z.object({}).strict();
const verifyRegistrationBody = z.object({ response: registrationResponse, name: passkeyName.optional() }).strict();
const loginOptionsBody = z.object({ email: email.optional() }).strict();
const verifyLoginBody = z.object({ response: authenticationResponse }).strict();
const renameBody = z.object({ name: passkeyName }).strict();
const id = z.string().regex(/^[A-Za-z0-9_-]{1,1366}$/);

/** Reads a JSON body; an empty body counts as `{}` for the endpoints that allow one. */
async function body(ctx: RouteContext): Promise<unknown> {
  if (ctx.request.headers.get('content-length') === '0' || (ctx.request.body === null && !ctx.request.headers.has('content-type'))) return {};
  return readJson(ctx.request, ctx.core.config.maxBodyBytes);
}

export function publicPasskey(p: PasskeyRecord) {
  return {
    id: p.id,
    name: p.name,
    createdAt: iso(p.createdAt),
    lastUsedAt: p.lastUsedAt === null ? null : iso(p.lastUsedAt),
    deviceType: p.deviceType,
    backedUp: p.backedUp,
    transports: p.transports,
    aaguid: p.aaguid,
  };
}

/** Ceremony options as JSON, with the cookie that binds their challenge to this browser. */
function optionsResponse(result: { options: unknown; setCookie: string }): Response {
  return json(result.options, 200, { 'set-cookie': result.setCookie });
}

/** A failure that counts against the failed-credential budget (see withCredentialBudget). */
/**
 * What spends the failed-credential budget: a verification that failed on the credential. Not a
 * challenge mismatch: it tests no credential (the check comes before the signature), and it is
 * what an honest browser sends when a second tab asked for a ceremony after the first one's
 * autofill request started; charging it locked people out for their own tabs.
 */
const failedPasskey = (error: unknown): boolean => error instanceof PasskeyVerificationError && error.reason !== 'challenge_mismatch';

/**
 * Records a failed ceremony (WA-* reason codes, and a missing, expired or replayed challenge);
 * rethrows. A failed verification's budget point stays spent; a ceremony error's is given back.
 */
async function failed(ctx: RouteContext, error: unknown, userId: string | null): Promise<never> {
  if (error instanceof PasskeyVerificationError || error instanceof CeremonyError) {
    await ctx.core.audit.record('passkey.verification_failed', { userId, ip: ctx.ip, userAgent: ctx.userAgent, data: { reason: error.reason } });
  }
  throw error;
}

export const passkeyRoutes: Route[] = [
  {
    method: 'POST',
    path: '/passkeys/register/options',
    limit: 'ceremony',
    async run(ctx) {
      const input = await body(ctx);
      const signedIn = await ctx.current();
      if (signedIn !== null) {
        parseInput(emptyBody, input);
        // SESS-10: adding a credential needs a recent sign-in.
        ctx.requireFresh(signedIn);
        return optionsResponse(await createRegistrationOptions(ctx.core, { user: signedIn.user, ip: ctx.ip, request: ctx.request }));
      }
      const signUp = parseInput(signUpBody, input);
      // ENUM-02: no lookup here; known and unknown emails get the same answer.
      return optionsResponse(await createRegistrationOptions(ctx.core, { signUp, ip: ctx.ip, request: ctx.request }));
    },
  },
  {
    method: 'POST',
    path: '/passkeys/register/verify',
    limit: 'ceremony',
    async run(ctx) {
      return withCredentialBudget(ctx, undefined, async () => {
        const input = parseInput(verifyRegistrationBody, await readJson(ctx.request, ctx.core.config.maxBodyBytes));
        const signedIn = await ctx.current();
        const ceremony = await takeCeremony(ctx.core, ctx.request, signedIn ? 'add' : 'signup').catch((e: unknown) => failed(ctx, e, signedIn?.user.id ?? null));
        if (signedIn !== null) {
          // WA-14: the passkey joins the signed-in user the ceremony was started for, never an id from the body.
          if (ceremony.userId !== signedIn.user.id) throw new BadRequestError('BAD_REQUEST', 'This passkey request belongs to another session. Start again.');
          // SESS-10 at the step that writes, too: options asked 9 minutes after sign-in must not finish at 14.
          ctx.requireFresh(signedIn);
          const passkey = await verifyRegistration(ctx.core, ceremony, input.response, signedIn.user.id, input.name ?? '').catch((e: unknown) =>
            failed(ctx, e, signedIn.user.id),
          );
          // The session rotates FIRST (SESS-04): of two credential changes at once, the one that
          // loses the rotation changes nothing, instead of answering 401 after its change was made.
          const headers = await rotateSession(ctx, signedIn);
          const store = await ctx.core.storage();
          const registered = ctx.core.audit.entry('passkey.registered', { userId: signedIn.user.id, sessionId: signedIn.session.id, ip: ctx.ip, userAgent: ctx.userAgent, data: { passkeyId: passkey.id } });
          try {
            // The passkey and its event together, or neither.
            await store.insertPasskey(passkey, [registered]).catch((e: unknown) =>
              failed(ctx, e instanceof ConflictError ? new PasskeyVerificationError('credential_taken', 409) : e, signedIn.user.id),
            );
          } catch (error) {
            // The browser still needs its new session: the old one has ended.
            return toErrorResponse(error, ctx.core.config.logger, headers);
          }
          ctx.core.audit.recorded(registered);
          return json({ passkey: publicPasskey(passkey) }, 201, headers);
        }
        const userId = newUserId();
        const passkey = await verifyRegistration(ctx.core, ceremony, input.response, userId, input.name ?? '').catch((e: unknown) => failed(ctx, e, null));
        // The account, its passkey and both events in one transaction.
        const events = [
          ctx.core.audit.entry('user.created', { userId, ip: ctx.ip, userAgent: ctx.userAgent, data: { role: ctx.core.config.authz.defaultRole, via: 'passkey' } }),
          ctx.core.audit.entry('passkey.registered', { userId, ip: ctx.ip, userAgent: ctx.userAgent, data: { passkeyId: passkey.id } }),
        ];
        const user = await createAccountWithPasskey(ctx.core, ceremony, passkey, events).catch((e: unknown) => failed(ctx, e, null));
        for (const event of events) ctx.core.audit.recorded(event);
        return signInResponse(ctx, user.id, 'passkey', 201);
      }, failedPasskey);
    },
  },
  {
    method: 'POST',
    path: '/passkeys/login/options',
    limit: 'ceremony',
    async run(ctx) {
      parseInput(loginOptionsBody, await body(ctx));
      return optionsResponse(await createAuthenticationOptions(ctx.core, ctx.request, ctx.ip));
    },
  },
  {
    method: 'POST',
    path: '/passkeys/login/verify',
    limit: 'ceremony',
    async run(ctx) {
      return withCredentialBudget(ctx, undefined, async () => {
        const input = parseInput(verifyLoginBody, await readJson(ctx.request, ctx.core.config.maxBodyBytes));
        const ceremony = await takeCeremony(ctx.core, ctx.request, 'login').catch((e: unknown) => failed(ctx, e, null));
        const { passkey, use } = await verifyAssertion(ctx.core, ceremony, input.response).catch((e: unknown) => failed(ctx, e, null));
        // The counter moves with the new session, in one transaction; a lost race starts nothing.
        return signInResponse(ctx, passkey.userId, 'passkey', 200, {}, { passkeyUse: use }).catch((e: unknown) =>
          failed(ctx, e instanceof PasskeyCounterRaceError ? new PasskeyVerificationError('counter_race', 401) : e, passkey.userId),
        );
      }, failedPasskey);
    },
  },
  {
    method: 'GET',
    path: '/passkeys',
    limit: 'session',
    async run(ctx) {
      const { user } = await ctx.requireSession();
      const store = await ctx.core.storage();
      return json({ passkeys: (await store.listPasskeys(user.id)).map(publicPasskey) });
    },
  },
  {
    method: 'PATCH',
    path: '/passkeys/:id',
    limit: 'session',
    async run(ctx) {
      const found = await ctx.requireSession();
      const { name } = parseInput(renameBody, await readJson(ctx.request, ctx.core.config.maxBodyBytes));
      const passkeyId = id.safeParse(ctx.params.id);
      const store = await ctx.core.storage();
      // AUTHZ-02: scoped to the owner; someone else's passkey is "not found".
      if (!passkeyId.success || !(await store.renamePasskey(passkeyId.data, found.user.id, name))) throw new NotFoundError('No such passkey.');
      await ctx.core.audit.record('passkey.renamed', { userId: found.user.id, sessionId: found.session.id, ip: ctx.ip, data: { passkeyId: passkeyId.data } });
      const passkey = (await store.listPasskeys(found.user.id)).find((p) => p.id === passkeyId.data);
      if (passkey === undefined) throw new NotFoundError('No such passkey.');
      return json({ passkey: publicPasskey(passkey) });
    },
  },
  {
    method: 'DELETE',
    path: '/passkeys/:id',
    limit: 'session',
    async run(ctx) {
      const found = await ctx.requireSession();
      ctx.requireFresh(found);
      const passkeyId = id.safeParse(ctx.params.id);
      if (!passkeyId.success) throw new NotFoundError('No such passkey.');
      const store = await ctx.core.storage();
      // The session rotates first (SESS-04), as when adding: a loser of two changes at once changes nothing.
      const headers = await rotateSession(ctx, found);
      const deleted = ctx.core.audit.entry('passkey.deleted', { userId: found.user.id, sessionId: found.session.id, ip: ctx.ip, userAgent: ctx.userAgent, data: { passkeyId: passkeyId.data } });
      try {
        // The last way to sign in goes only when a linked provider or recovery codes can still get
        // the user back in; the storage checks that, and writes the event, in the deletion's own transaction.
        const result = await store.deletePasskey(passkeyId.data, found.user.id, [deleted]);
        if (result === 'not_found') throw new NotFoundError('No such passkey.');
        if (result === 'last_method') {
          throw new ConflictError('LAST_SIGN_IN_METHOD', 'This is your only passkey. Add another passkey, link a provider or generate recovery codes first.');
        }
      } catch (error) {
        return toErrorResponse(error, ctx.core.config.logger, headers);
      }
      ctx.core.audit.recorded(deleted);
      return noContent(headers);
    },
  },
];
