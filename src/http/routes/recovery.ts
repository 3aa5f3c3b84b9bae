import { z } from 'zod';
import { AuthError } from '../../errors.js';
import { generateRecoveryCodes, hashRecoveryCode } from '../../passkeys/recovery-codes.js';
import { normalizeEmail } from '../../storage/sql-rows.js';
import { expectNoBody, parseInput, readJson } from '../body.js';
import { json, toErrorResponse } from '../errors.js';
import { DEFAULTS } from '../../config/resolve.js';
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
      try {
        // Regenerating replaces the whole set: old codes stop working at once.
        await store.replaceRecoveryCodes(found.user.id, codes.map(hashRecoveryCode), ctx.core.config.now());
      } catch (error) {
        // The old codes still work (the replacement is one transaction); the browser must still
        // get its new session, since the old one has ended.
        return toErrorResponse(error, ctx.core.config.logger, headers);
      }
      await ctx.core.audit.record('recovery.codes_generated', { userId: found.user.id, sessionId: found.session.id, ip: ctx.ip, userAgent: ctx.userAgent, data: { count: codes.length } });
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
      const user = await withCredentialBudget(
        ctx,
        account,
        async () => {
          const found = await store.findUserByEmail(account);
          const hash = hashRecoveryCode(input.code);
          // The code is looked up by its hash (TIME-01), for that user only, and burnt by the same statement.
          const burnt = found !== null && !found.disabled && (await store.consumeRecoveryCode(found.id, hash, ctx.core.config.now()));
          if (found === null || !burnt) {
            await ctx.core.audit.record('recovery.failed', { userId: found?.id ?? null, ip: ctx.ip, userAgent: ctx.userAgent });
            throw new RecoveryFailedError();
          }
          return found;
        },
        (error) => error instanceof RecoveryFailedError,
      );
      // Whoever held the lost device is signed out everywhere.
      const ended = await store.deleteUserSessions(user.id);
      await ctx.core.audit.record('recovery.code_used', { userId: user.id, ip: ctx.ip, userAgent: ctx.userAgent, data: { sessionsEnded: ended.length, codesLeft: await store.countRecoveryCodes(user.id) } });
      // Earlier failures against this account are forgotten once its owner got in.
      await (await ctx.core.limiter()).reset('credentialAccount', `account:${account}`);
      return signInResponse(ctx, user.id, 'recovery', 200, { next: 'register-passkey' });
    },
  },
];
