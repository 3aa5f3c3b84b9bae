import type { Rule } from '../types.js';
import { authzClientHeaders, authzInlineRoleCheck } from './authz.js';
import { cookieNotHttpOnly, cookieWeakAttributes, sessionNoExpiry } from './cookies.js';
import { accessTokenLifetime, jwtAlgNone, jwtDecodeUnverified, jwtVerifyOptions } from './jwt.js';
import { oauthFlowParams, oauthUserinfoIdentity } from './oauth.js';
import { webauthnChallenge, webauthnExpectedOrigin } from './passkeys.js';
import { refreshRotation } from './refresh.js';
import { csrfUnprotectedRoute, loginRateLimit } from './routes.js';
import { tokenStorage } from './token-storage.js';

/** Every rule, in the order of the list (storage, lifetime, rotation, verification, OAuth, passkeys, cookies, authz, CSRF/limits). */
export const RULES: readonly Rule[] = [
  tokenStorage,
  accessTokenLifetime,
  refreshRotation,
  jwtDecodeUnverified,
  jwtVerifyOptions,
  jwtAlgNone,
  oauthUserinfoIdentity,
  oauthFlowParams,
  webauthnExpectedOrigin,
  webauthnChallenge,
  cookieNotHttpOnly,
  cookieWeakAttributes,
  sessionNoExpiry,
  authzClientHeaders,
  authzInlineRoleCheck,
  csrfUnprotectedRoute,
  loginRateLimit,
];

/** Not a check of the code: reports suppression comments that lack a reason. */
export const SUPPRESSION_RULE: Rule = {
  info: {
    id: 'invalid-suppression',
    severity: 'medium',
    title: 'Suppression comment without a reason',
    explanation: 'A `gatehouse-audit-ignore` comment hides a security finding. Without a written reason, nobody can review later whether the finding really did not apply, so such a comment suppresses nothing.',
    fix: 'Write `// gatehouse-audit-ignore <rule-id> -- <why this is safe>`.',
    guide: 'code-audit',
  },
  check() {},
};

export const ALL_RULE_INFO = [...RULES, SUPPRESSION_RULE].map((r) => r.info);
