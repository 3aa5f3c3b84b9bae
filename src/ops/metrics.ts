import type { Registry } from 'prom-client';
import type { AuditObserver } from '../audit/audit-log.js';
import type { Sessions } from '../sessions/sessions.js';

/**
 * Prometheus metrics (prom-client), off by default. Labels are low-cardinality by design:
 * route TEMPLATES (`/passkeys/:id`), never paths with ids; sign-in methods; limit names. No
 * user, session or IP ever becomes a label. prom-client loads on first use, so an app that
 * leaves metrics off never pays for it; the few events recorded before it loaded are queued.
 */
export interface MetricsRecorder {
  /** One request through the handler: its route template, method, status and duration. */
  request(route: string, method: string, status: number, seconds: number): void;
  signIn(method: string, result: 'success' | 'failure'): void;
  rateLimited(limit: string): void;
  csrfRefused(): void;
  /** One session lookup (cookie -> session -> user) and how it ended. */
  sessionValidation(seconds: number, result: 'valid' | 'invalid'): void;
  /** Free-form counters for other parts (refresh rotations, reuse detections, cache hits...). */
  count(name: CounterName, labels?: Record<string, string>): void;
}

export type CounterName = 'refresh_total' | 'session_cache_total';

export interface Metrics extends MetricsRecorder {
  /** The exposition text, for a `/metrics` endpoint. */
  text(): Promise<string>;
  readonly contentType: string;
  /** Called at scrape time, e.g. to read database pool gauges. */
  onCollect(collect: (set: (name: GaugeName, labels: Record<string, string>, value: number) => void) => void): void;
}

export type GaugeName = 'db_pool_connections';

const COUNTER_HELP: Record<CounterName, [string, string[]]> = {
  refresh_total: ['Refresh-token requests by outcome (rotated, grace, reused, expired, ended, invalid)', ['result']],
  session_cache_total: ['Session cache lookups and changes (hit, miss, bypass, invalidation)', ['event']],
};

/** A recorder that does nothing: metrics off. */
export const NO_METRICS: MetricsRecorder = {
  request() {},
  signIn() {},
  rateLimited() {},
  csrfRefused() {},
  sessionValidation() {},
  count() {},
};

export function createMetrics(prefix = 'gatehouse_'): Metrics {
  let live: MetricsRecorder | undefined;
  const queue: Array<(r: MetricsRecorder) => void> = [];
  const collectors: Array<Parameters<Metrics['onCollect']>[0]> = [];
  const later = (event: (r: MetricsRecorder) => void) => {
    if (live !== undefined) event(live);
    else if (queue.length < 10_000) queue.push(event);
  };

  const ready = import('prom-client').then((prom) => {
    const registry: Registry = new prom.Registry();
    const requests = new prom.Counter({ name: `${prefix}http_requests_total`, help: 'Requests to the auth handler', labelNames: ['route', 'method', 'status'], registers: [registry] });
    const duration = new prom.Histogram({
      name: `${prefix}http_request_duration_seconds`,
      help: 'Time to answer a request to the auth handler',
      labelNames: ['route', 'method'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    });
    const signIns = new prom.Counter({ name: `${prefix}sign_ins_total`, help: 'Sign-in attempts by method and result', labelNames: ['method', 'result'], registers: [registry] });
    const limited = new prom.Counter({ name: `${prefix}rate_limited_total`, help: 'Requests refused by a rate limit (429)', labelNames: ['limit'], registers: [registry] });
    const csrf = new prom.Counter({ name: `${prefix}csrf_refused_total`, help: 'Unsafe requests refused by the CSRF check', registers: [registry] });
    const validation = new prom.Histogram({
      name: `${prefix}session_validation_seconds`,
      help: 'Time to validate a session (cookie -> session -> user)',
      labelNames: ['result'],
      buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05],
      registers: [registry],
    });
    const counters = new Map(
      (Object.keys(COUNTER_HELP) as CounterName[]).map((name) => {
        const [help, labelNames] = COUNTER_HELP[name];
        return [name, new prom.Counter({ name: `${prefix}${name}`, help, labelNames, registers: [registry] })] as const;
      }),
    );
    const pool = new prom.Gauge({
      name: `${prefix}db_pool_connections`,
      help: 'Database pool connections by state (PostgreSQL)',
      labelNames: ['state'],
      registers: [registry],
      collect() {
        for (const collect of collectors) collect((_name, labels, value) => pool.set(labels, value));
      },
    });
    live = {
      request(route, method, status, seconds) {
        requests.inc({ route, method, status: String(status) });
        duration.observe({ route, method }, seconds);
      },
      signIn: (method, result) => signIns.inc({ method, result }),
      rateLimited: (limit) => limited.inc({ limit }),
      csrfRefused: () => csrf.inc(),
      sessionValidation: (seconds, result) => validation.observe({ result }, seconds),
      count: (name, labels = {}) => counters.get(name)?.inc(labels),
    };
    for (const event of queue.splice(0)) event(live);
    return { registry, contentType: registry.contentType };
  });

  let contentType = 'text/plain; version=0.0.4; charset=utf-8';
  return {
    request: (...args) => later((r) => r.request(...args)),
    signIn: (...args) => later((r) => r.signIn(...args)),
    rateLimited: (...args) => later((r) => r.rateLimited(...args)),
    csrfRefused: () => later((r) => r.csrfRefused()),
    sessionValidation: (...args) => later((r) => r.sessionValidation(...args)),
    count: (...args) => later((r) => r.count(...args)),
    async text() {
      const loaded = await ready;
      contentType = loaded.contentType;
      return loaded.registry.metrics();
    },
    get contentType() {
      return contentType;
    },
    onCollect(collect) {
      collectors.push(collect);
    },
  };
}

/** Sign-ins by method and result, read off the audit events every sign-in method records anyway. */
export function signInObserver(metrics: MetricsRecorder): AuditObserver {
  return (type, data) => {
    switch (type) {
      case 'session.created':
        metrics.signIn(typeof data?.method === 'string' ? data.method : 'unknown', 'success');
        break;
      case 'passkey.verification_failed':
        metrics.signIn('passkey', 'failure');
        break;
      case 'recovery.failed':
        metrics.signIn('recovery', 'failure');
        break;
      case 'oauth.failed':
        metrics.signIn('oauth', 'failure');
        break;
      default:
        break;
    }
  };
}

/** Times every session validation; with metrics off, the sessions object is returned untouched. */
export function timedValidation(sessions: Sessions, metrics: MetricsRecorder): Sessions {
  if (metrics === NO_METRICS) return sessions;
  return {
    ...sessions,
    async validate(token) {
      const started = performance.now();
      const found = await sessions.validate(token);
      metrics.sessionValidation((performance.now() - started) / 1000, found === null ? 'invalid' : 'valid');
      return found;
    },
  };
}
