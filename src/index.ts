export { createGatehouse } from './gatehouse.js';
export type { Gatehouse, CreateSessionOptions, CreateSessionResult } from './gatehouse.js';
export type { GatehouseOptions, GatehouseLogger, JwtOptions, LimitName, LimitOptions } from './config/options.js';
export { DEFAULTS } from './config/resolve.js';
export type { ResolvedConfig } from './config/resolve.js';
export type { User, Session, SessionResult } from './sessions/types.js';
export type { Handler, RequestContext } from './http/handler.js';
export { SESSION_COOKIE } from './http/cookies.js';
export { ACCESS_COOKIE, REFRESH_COOKIE } from './http/jwt-cookies.js';
export { verifyAccessToken } from './jwt/verify-access-token.js';
export type { VerifyAccessTokenOptions } from './jwt/verify-access-token.js';
export type { AccessTokenClaims } from './jwt/access-token.js';
export type { JwtMode } from './jwt/jwt-mode.js';
export { openDatabase, DEFAULT_DATABASE_URL, redactUrl } from './storage/database.js';
export type { Database, Dialect } from './storage/database.js';
export { migrate, pendingMigrations } from './storage/migrate.js';
export type { MigrateResult } from './storage/migrate.js';
export { createSqlStorage } from './storage/sql-storage.js';
export type {
  Storage,
  UserRecord,
  SessionRecord,
  ActiveSessionRecord,
  SessionUserRecord,
  SessionWithUser,
  AuthEventRecord,
  NewAuthEvent,
  SigningKeyRecord,
  RefreshTokenRecord,
  RefreshRotation,
  RevocationRecord,
  RevocationKind,
  JwtStorage,
  ListEventsQuery,
  ListUsersQuery,
  IdentityRecord,
} from './storage/contract.js';
export { oidcProvider, googleProvider, entraIdProvider, githubProvider } from './oauth/providers.js';
export type { OAuthProvider, OidcProvider, GitHubProvider } from './oauth/providers.js';
export type { OAuthOptions } from './oauth/config.js';
export { OAUTH_DEFAULTS } from './oauth/config.js';
export { safeReturnPath } from './oauth/return-path.js';
export { OAUTH_ERROR_MESSAGES, oauthErrorMessage } from './oauth/messages.js';
export type { ReadinessReport, ReadinessCheck } from './ops/health.js';
export type { AuthEventType } from './audit/audit-log.js';
export { AUTH_EVENT_TYPES } from './audit/audit-log.js';
export type { Actor, NewUserInput, Users } from './users/users.js';
export { SYSTEM_ACTOR } from './users/users.js';
export {
  AuthError,
  BadRequestError,
  UnauthenticatedError,
  AccessTokenExpiredError,
  ForbiddenError,
  ReauthenticationRequiredError,
  CsrfError,
  NotFoundError,
  MethodNotAllowedError,
  ConflictError,
  PayloadTooLargeError,
  UnsupportedMediaTypeError,
  RateLimitedError,
  ServiceUnavailableError,
  ConfigurationError,
} from './errors.js';
export { readJson as readJsonBody, parseInput } from './http/body.js';
export type { RateLimiter } from './protect/rate-limit.js';
export { ipKey } from './protect/client-ip.js';
export { json as jsonResponse } from './http/errors.js';
