import type { AuditLog } from './audit/audit-log.js';
import type { ResolvedConfig } from './config/resolve.js';
import type { OAuthFlow } from './oauth/flow.js';
import type { MetricsRecorder } from './ops/metrics.js';
import type { ClientIpResolver } from './protect/client-ip.js';
import type { JwtMode } from './jwt/jwt-mode.js';
import type { RateLimiter } from './protect/rate-limit.js';
import type { Sessions } from './sessions/sessions.js';
import type { Storage } from './storage/contract.js';
import type { Users } from './users/users.js';

/** The services one Gatehouse instance wires together; routes and the public API share them. */
export interface Core {
  config: ResolvedConfig;
  storage: () => Promise<Storage>;
  limiter: () => Promise<RateLimiter>;
  sessions: Sessions;
  users: Users;
  audit: AuditLog;
  clientIp: ClientIpResolver;
  /** Null when no OAuth/OIDC provider is configured. */
  oauth: OAuthFlow | null;
  /** Prometheus metrics; a no-op recorder unless `metrics: true`. */
  metrics: MetricsRecorder;
  /** JWT mode (access JWTs + refresh tokens); undefined with database sessions. */
  jwt?: JwtMode;
}
