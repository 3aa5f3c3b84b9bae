import { z } from 'zod';
import { AuthError } from '../../errors.js';
import { generateRecoveryCodes, hashRecoveryCode, recoveryCodeHashes } from '../../passkeys/recovery-codes.js';
import { normalizeEmail } from '../../storage/sql-rows.js';
import { expectNoBody, parseInput, readJson } from '../body.js';
import { json, toErrorResponse } from '../errors.js';
import { DEFAULTS } from '../../config/resolve.js';
import { RecoveryCodeRejectedError } from '../../sessions/sessions.js';
import { randomToken } from '../../lib/crypto.js';
import { rotateSession, signInResponse, withCredentialBudget } from './sign-in.js';
import type { Route } from './types.js';

const signInBody = z.object({ email: z.string().trim().min(3).max(320), code: z.string().trim().min(1).max(64) }).strict();

class RecoveryFailedError extends AuthError {
  constructor() {
    // One answer for an unknown email, a wrong code and a used code (ENUM-01).
    super('RECOVERY_FAILED', 401, 'That email and recovery code do not match. Check the code and try again.');
  }
}

/** Recovery codes: generated while signed in, used to get back in after losing every passkey. */
export const recoveryRoutes: Route[] = [
  {
    method: 'POST',
    path: '/recovery-codes',
    limit: 'ceremony',
    async run(ctx) {
      await expectNoBody(ctx.request);
      const found = await ctx.requireSession();
      ctx.requireFresh(found);
      const store = await ctx.core.storage();
      // The session rotates FIRST (SESS-04): of two requests at once (a double click), only one
      // gets past it, so the codes shown are always the ones that work, and one set is made.
      const headers = await rotateSession(ctx, found);
      const codes = generateRecoveryCodes(DEFAULTS.recoveryCodes);
      const generated = ctx.core.audit.entry('recovery.codes_generated', { userId: found.user.id, sessionId: found.session.id, ip: ctx.ip, userAgent: ctx.userAgent, data: { count: codes.length } });
      try {
        // Regenerating replaces the whole set: old codes stop working at once. The event is
        // written in the same transaction.
        await store.replaceRecoveryCodes(found.user.id, codes.map((code) => hashRecoveryCode(found.user.id, code)), ctx.core.config.now(), [generated]);
      } catch (error) {
        // The old codes still work (the replacement is one transaction); the browser must still
        // get its new session, since the old one has ended.
        return toErrorResponse(error, ctx.core.config.logger, headers);
      }
      ctx.core.audit.recorded(generated);
      // Shown once: only hashes are stored, so the codes can never be shown again.
      return json({ codes }, 201, headers);
    },
  },
  {
    method: 'POST',
    path: '/recovery/sign-in',
    limit: 'ceremony',
    async run(ctx) {
      const input = parseInput(signInBody, await readJson(ctx.request, ctx.core.config.maxBodyBytes));
      const account = normalizeEmail(input.email);
      const store = await ctx.core.storage();
      return withCredentialBudget(
        ctx,
        account,
        async () => {
          const found = await store.findUserByEmail(account);
          const refused = async () => {
            await ctx.core.audit.record('recovery.failed', { userId: found?.id ?? null, ip: ctx.ip, userAgent: ctx.userAgent });
            return new RecoveryFailedError();
          };
          // The code is looked up by its hash (TIME-01), for that user only. It is burnt, the
          // account's other sessions end (whoever held the lost device is signed out everywhere)
          // and the new session starts in ONE transaction: a failure halfway leaves the code unused.
          // An unknown email runs the same transaction for an id no account has (ENUM-01: the same
          // statements, the same answer); a disabled account's code is rolled back unburnt.
          const userId = found?.id ?? `unknown-${randomToken(16)}`;
          const response = await signInResponse(ctx, userId, 'recovery', 200, { next: 'register-passkey' }, { recoveryCodeHashes: recoveryCodeHashes(userId, input.code) }).catch(async (error: unknown) => {
            throw error instanceof RecoveryCodeRejectedError ? await refused() : error;
          });
          // Earlier failures against this account are forgotten once its owner got in.
          await (await ctx.core.limiter()).reset('credentialAccount', `account:${account}`);
          return response;
        },
        (error) => error instanceof RecoveryFailedError,
      );
    },
  },
];
