import { isSessionName } from './names.js';
import { SEVERITIES, SEVERITY_RANK, type Severity } from './types.js';

/**
 * `gatehouse audit --url`: passive checks of a running site. Safe by construction:
 * - only the given origin is contacted; redirects are not followed (`redirect: 'manual'`), and
 *   URLs on other hosts (a `Location`, an issuer's `jwks_uri`) are reported, never fetched;
 * - at most `maxRequests` requests (30), one at a time, `delayMs` apart;
 * - only GET, plus one unauthenticated cross-site-looking POST per state-changing auth endpoint
 *   that the GETs found (a 405 answer): the `--cookie` value is never sent with it, so it cannot
 *   sign the user out or change anything for them;
 * - the `--cookie` is never sent to a sign-out-like path (`/logout`, `/api/auth/signout`...), not
 *   even with GET: many apps sign out on GET, which would end the session the user handed over.
 */
export interface LiveAuditOptions {
  /** A Cookie header value (a session) for checking authenticated responses. Sent only to the origin. */
  cookie?: string;
  maxRequests?: number;
  delayMs?: number;
  timeoutMs?: number;
}

export interface LiveFinding {
  check: string;
  severity: Severity;
  message: string;
  url: string;
}

export interface LiveResult {
  origin: string;
  requests: number;
  findings: LiveFinding[];
  /** What was looked at, for the report (so "no findings" says what it covers). */
  notes: string[];
}

export const LIVE_LIMITS = { maxRequests: 30, delayMs: 150, timeoutMs: 10_000 } as const;

/** A site that no browser would ever treat as the app's own: for CORS and CSRF probes. */
const FOREIGN_ORIGIN = 'https://gatehouse-audit.invalid';

const PROBE_PATHS = ['/login', '/signin', '/sign-in', '/auth/session', '/api/auth/session', '/api/me', '/api/user', '/auth/me', '/api/session'];
const STATE_CHANGING = ['/logout', '/auth/logout', '/auth/sign-out', '/api/auth/signout', '/api/logout', '/signout', '/auth/signout'];
/** Paths that may end a session when requested: the `--cookie` never goes there. */
const SIGN_OUT = /(log|sign)[-_]?(out|off)|revoke|end[-_]?session/i;
const JWT = /eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/;
const TOKEN_KEYS = /"(access_token|accessToken|id_token|idToken|refresh_token|refreshToken|token|jwt|session_token|sessionToken)"\s*:\s*"([^"]{16,})"/;

class Client {
  requests = 0;
  constructor(
    readonly origin: string,
    private readonly options: Required<Omit<LiveAuditOptions, 'cookie'>> & { cookie: string | undefined },
  ) {}

  get left(): number {
    return this.options.maxRequests - this.requests;
  }

  /** One request to the origin; `undefined` when the budget is spent, the URL is foreign, or the network fails. */
  async send(target: string, init: { method?: string; headers?: Record<string, string>; body?: string; withCookie?: boolean } = {}): Promise<{ response: Response; body: string; url: string } | undefined> {
    if (!URL.canParse(target, this.origin)) return undefined;
    const url = new URL(target, this.origin);
    if (url.origin !== this.origin || this.left <= 0) return undefined;
    if (this.requests > 0) await new Promise((r) => setTimeout(r, this.options.delayMs));
    this.requests++;
    const headers: Record<string, string> = { 'user-agent': 'gatehouse-audit (passive)', ...init.headers };
    // A sign-out on GET would end the session the user lent us ("cannot sign the user out").
    if (init.withCookie !== false && this.options.cookie !== undefined && !SIGN_OUT.test(url.pathname)) headers.cookie = this.options.cookie;
    try {
      const response = await fetch(url, { method: init.method ?? 'GET', headers, body: init.body, redirect: 'manual', signal: AbortSignal.timeout(this.options.timeoutMs) });
      const body = await readCapped(response, MAX_BODY_BYTES);
      return { response, body, url: url.href };
    } catch {
      return undefined;
    }
  }
}

/** Enough for any auth page or JSON answer; a site may stream gigabytes at us. */
const MAX_BODY_BYTES = 256 * 1024;

/** Reads at most `max` bytes of the body through its stream, then cancels the rest (the connection closes). */
async function readCapped(response: Response, max: number): Promise<string> {
  if (response.body === null) return '';
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  let total = 0;
  try {
    while (total < max) {
      const { done, value } = await reader.read();
      if (done) return text + decoder.decode();
      const part = value.byteLength > max - total ? value.subarray(0, max - total) : value;
      total += part.byteLength;
      text += decoder.decode(part, { stream: true });
    }
    return text + decoder.decode();
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

interface Cookie {
  name: string;
  attributes: Map<string, string>;
  raw: string;
}

export function parseSetCookie(header: string): Cookie {
  const [pair = '', ...rest] = header.split(';');
  const name = pair.slice(0, Math.max(0, pair.indexOf('='))).trim();
  const attributes = new Map<string, string>();
  for (const part of rest) {
    const eq = part.indexOf('=');
    attributes.set((eq < 0 ? part : part.slice(0, eq)).trim().toLowerCase(), eq < 0 ? '' : part.slice(eq + 1).trim());
  }
  return { name, attributes, raw: header };
}

function cookieFindings(cookie: Cookie, url: string, https: boolean): LiveFinding[] {
  const out: LiveFinding[] = [];
  const a = cookie.attributes;
  const clearing = a.get('max-age') === '0' || (a.has('expires') && Date.parse(a.get('expires') ?? '') < Date.now());
  if (!isSessionName(cookie.name) || clearing) return out;
  const add = (check: string, severity: Severity, message: string) => out.push({ check, severity, message: `Cookie "${cookie.name}": ${message}`, url });
  if (!a.has('httponly')) add('live-cookie-httponly', 'high', 'no HttpOnly, so page scripts (and XSS) can read this session/token cookie.');
  if (!a.has('secure')) add('live-cookie-secure', https ? 'high' : 'medium', 'no Secure, so it also travels over plain HTTP.');
  const sameSite = a.get('samesite')?.toLowerCase();
  if (sameSite === 'none') add('live-cookie-samesite', 'medium', 'SameSite=None sends it with every cross-site request.');
  else if (sameSite === undefined) add('live-cookie-samesite', 'low', 'no explicit SameSite (set Lax or Strict).');
  if (cookie.name.startsWith('__Host-') && (a.has('domain') || a.get('path') !== '/' || !a.has('secure'))) add('live-cookie-prefix', 'medium', '__Host- cookie without Secure, Path=/ and no Domain: browsers drop it.');
  else if (!cookie.name.startsWith('__Host-') && !cookie.name.startsWith('__Secure-')) add('live-cookie-prefix', 'low', 'no __Host- prefix, so a subdomain or an HTTP page can overwrite it (cookie tossing).');
  if (a.has('domain')) add('live-cookie-prefix', 'low', `Domain=${a.get('domain') ?? ''} shares it with every subdomain.`);
  const maxAge = Number(a.get('max-age') ?? NaN);
  const expires = Date.parse(a.get('expires') ?? '');
  const lifetime = Number.isFinite(maxAge) ? maxAge : Number.isFinite(expires) ? (expires - Date.now()) / 1000 : undefined;
  if (lifetime !== undefined && lifetime > 30 * 86_400) add('live-cookie-lifetime', 'low', `lives ${Math.round(lifetime / 86_400)} days; bound sessions with idle and absolute timeouts.`);
  return out;
}

/** Checks on any response: cookies, tokens in the body or Location, Cache-Control where tokens are. */
function responseFindings(r: { response: Response; body: string; url: string }, https: boolean): LiveFinding[] {
  const out: LiveFinding[] = [];
  const cookies = r.response.headers.getSetCookie().map(parseSetCookie);
  for (const c of cookies) out.push(...cookieFindings(c, r.url, https));
  const tokenKey = TOKEN_KEYS.exec(r.body);
  const jwt = JWT.exec(r.body);
  const type = r.response.headers.get('content-type') ?? '';
  if (tokenKey !== null || (jwt !== null && /json/.test(type))) {
    out.push({ check: 'live-token-in-body', severity: 'high', message: `The response body carries a token${tokenKey === null ? ' (a JWT)' : ` ("${tokenKey[1] ?? ''}")`}: page scripts read it, so it ends up in script-readable storage. Set it in an HttpOnly cookie instead.`, url: r.url });
  }
  const location = r.response.headers.get('location') ?? '';
  if (/[?#&](access_token|id_token|token|jwt|session)=/i.test(location) || JWT.test(location) || /[?#&](access_token|id_token|token|jwt)=/i.test(r.url)) {
    out.push({ check: 'live-token-in-url', severity: 'high', message: 'A token is put in a URL (Location header): URLs end up in history, logs and Referer headers.', url: r.url });
  }
  const setsAuth = cookies.some((c) => isSessionName(c.name) && c.attributes.get('max-age') !== '0');
  const cacheControl = r.response.headers.get('cache-control') ?? '';
  if ((setsAuth || tokenKey !== null) && !/no-store/i.test(cacheControl)) {
    out.push({ check: 'live-cache-control', severity: 'medium', message: `A response that sets a session or returns a token has Cache-Control "${cacheControl || '(none)'}"; use no-store so no cache keeps it.`, url: r.url });
  }
  return out;
}

function json(body: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(body);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? Object.fromEntries(Object.entries(parsed)) : undefined;
  } catch {
    return undefined;
  }
}

function jwksFindings(body: string, url: string): LiveFinding[] {
  const out: LiveFinding[] = [];
  const keys = json(body)?.keys;
  if (!Array.isArray(keys)) return [{ check: 'live-jwks', severity: 'medium', message: 'The JWKS is not a JSON object with a "keys" array.', url }];
  for (const key of keys) {
    if (typeof key !== 'object' || key === null) continue;
    const k = Object.fromEntries(Object.entries(key));
    const kid = typeof k.kid === 'string' ? ` ${k.kid}` : '';
    if (k.kty === 'oct') out.push({ check: 'live-jwks', severity: 'high', message: `Key${kid} is a symmetric (oct) key: publishing it lets anyone sign tokens.`, url });
    if (['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'].some((p) => p in k)) out.push({ check: 'live-jwks', severity: 'high', message: `Key${kid} includes private key material.`, url });
    if (k.kty === 'RSA' && typeof k.n === 'string' && (k.n.length * 6) / 8 < 256 - 2) out.push({ check: 'live-jwks', severity: 'high', message: `RSA key${kid} is about ${Math.round((k.n.length * 6) / 8) * 8} bits; use at least 2048.`, url });
    if (k.kty === 'EC' && !['P-256', 'P-384', 'P-521'].includes(String(k.crv))) out.push({ check: 'live-jwks', severity: 'medium', message: `EC key${kid} uses curve ${String(k.crv)}.`, url });
    if (typeof k.alg === 'string' && (k.alg.toLowerCase() === 'none' || /^HS/.test(k.alg))) out.push({ check: 'live-jwks', severity: 'high', message: `Key${kid} announces alg ${k.alg}.`, url });
  }
  return out;
}

function discoveryFindings(doc: Record<string, unknown>, origin: string, url: string): { findings: LiveFinding[]; jwksUri: string | undefined } {
  const out: LiveFinding[] = [];
  const add = (severity: Severity, message: string) => out.push({ check: 'live-openid-discovery', severity, message, url });
  const issuer = typeof doc.issuer === 'string' ? doc.issuer : undefined;
  // OpenID Connect Discovery 1.0 section 4.3: the issuer must be identical to the URL it was fetched under.
  if (issuer === undefined || !URL.canParse(issuer)) add('medium', `issuer "${issuer ?? '(missing)'}" is not an absolute URL (it must be the URL the document was fetched under).`);
  else if (new URL(issuer).origin !== origin) add('medium', `issuer "${issuer}" does not match the origin it was fetched from.`);
  for (const key of ['authorization_endpoint', 'token_endpoint', 'jwks_uri']) {
    const v = doc[key];
    if (typeof v !== 'string') add('medium', `${key} is missing.`);
    else if (!v.startsWith('https://') && !/^http:\/\/(localhost|127\.0\.0\.1)(:|\/)/.test(v)) add('high', `${key} is not https: ${v}`);
  }
  const algs = doc.id_token_signing_alg_values_supported;
  if (Array.isArray(algs) && algs.some((a) => String(a).toLowerCase() === 'none')) add('high', 'id_token_signing_alg_values_supported includes "none".');
  const pkce = doc.code_challenge_methods_supported;
  if (!Array.isArray(pkce) || !pkce.includes('S256')) add('medium', 'code_challenge_methods_supported does not list S256 (PKCE).');
  const types = doc.response_types_supported;
  if (Array.isArray(types) && types.some((t) => /\btoken\b/.test(String(t)))) add('low', 'response_types_supported includes implicit-flow types (token in the URL fragment).');
  const jwksUri = typeof doc.jwks_uri === 'string' ? doc.jwks_uri : undefined;
  return { findings: out, jwksUri };
}

export async function liveAudit(target: string, options: LiveAuditOptions = {}): Promise<LiveResult> {
  let start: URL;
  try {
    start = new URL(target);
  } catch {
    throw new TypeError(`"${target}" is not an absolute URL.`);
  }
  if (start.protocol !== 'https:' && start.protocol !== 'http:') throw new TypeError(`"${target}" is not an http(s) URL.`);
  const origin = start.origin;
  const https = start.protocol === 'https:';
  const client = new Client(origin, {
    cookie: options.cookie,
    maxRequests: Math.min(options.maxRequests ?? LIVE_LIMITS.maxRequests, LIVE_LIMITS.maxRequests),
    delayMs: options.delayMs ?? LIVE_LIMITS.delayMs,
    timeoutMs: options.timeoutMs ?? LIVE_LIMITS.timeoutMs,
  });
  const findings: LiveFinding[] = [];
  const notes: string[] = [];

  // Each probe fails on its own: an exception (a malformed document, a header we did not expect)
  // becomes a note for that probe, and the other probes and all findings so far are kept.
  const probe = async (name: string, run: () => Promise<void>) => {
    try {
      await run();
    } catch (error) {
      notes.push(`The ${name} check failed (${error instanceof Error ? error.message : String(error)}); the other checks ran.`);
    }
  };

  // 1. The start page: headers of the app itself.
  const home = await client.send(start.pathname + start.search);
  if (home === undefined) throw new TypeError(`${origin} did not answer.`);
  await probe('start page', async () => {
    findings.push(...responseFindings(home, https));
    if (https && !/max-age=\d{7,}/.test(home.response.headers.get('strict-transport-security') ?? '')) {
      findings.push({ check: 'live-hsts', severity: 'medium', message: 'No Strict-Transport-Security with a max-age of at least ~4 months: the first request can be downgraded to HTTP.', url: home.url });
    }
    if (/html/.test(home.response.headers.get('content-type') ?? '') && !home.response.headers.has('content-security-policy')) {
      findings.push({ check: 'live-csp', severity: 'low', message: 'HTML without a Content-Security-Policy: nothing limits what an injected script can do.', url: home.url });
    }
  });

  // 2. Auth-looking pages and APIs (GET only), with the session if one was given; sign-out
  //    paths without it (Client.send never sends it there).
  const stateChanging: string[] = [];
  for (const p of [...PROBE_PATHS, ...STATE_CHANGING]) {
    if (client.left <= 8) break; // keep budget for CORS, CSRF, discovery and JWKS
    await probe(p, async () => {
      const r = await client.send(p);
      if (r === undefined) return;
      if (r.response.status === 405 && STATE_CHANGING.includes(p)) stateChanging.push(p);
      if (r.response.status < 400 || r.response.status === 401) findings.push(...responseFindings(r, https));
      const location = r.response.headers.get('location');
      if (location !== null && URL.canParse(location, origin) && new URL(location, origin).origin !== origin) notes.push(`${p} redirects to ${new URL(location, origin).origin} (not followed).`);
    });
  }

  // 3. CORS: is a foreign Origin reflected with credentials allowed?
  await probe('CORS', async () => {
    for (const p of ['/api/me', start.pathname]) {
      const r = await client.send(p, { headers: { origin: FOREIGN_ORIGIN } });
      if (r === undefined) continue;
      const allow = r.response.headers.get('access-control-allow-origin');
      const credentials = r.response.headers.get('access-control-allow-credentials') === 'true';
      if ((allow === FOREIGN_ORIGIN || allow === 'null') && credentials) {
        findings.push({ check: 'live-cors-credentials', severity: 'high', message: `A foreign Origin is answered with Access-Control-Allow-Origin: ${allow} and Allow-Credentials: true: any site can read this user's responses.`, url: r.url });
        break;
      }
    }
  });

  // 4. CSRF: a cross-site-looking form POST, without any cookie, to state-changing auth endpoints.
  if (stateChanging.length === 0) notes.push('No state-changing auth endpoint answered 405 to GET; the cross-site POST check did not run.');
  for (const p of stateChanging.slice(0, 2)) {
    await probe(`cross-site POST to ${p}`, async () => {
      const r = await client.send(p, {
        method: 'POST',
        withCookie: false,
        headers: { origin: FOREIGN_ORIGIN, 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate', 'content-type': 'application/x-www-form-urlencoded' },
        body: 'gatehouse-audit=1',
      });
      if (r === undefined) return;
      const status = r.response.status;
      if (status < 400) findings.push({ check: 'live-csrf', severity: 'high', message: `A cross-site form POST to ${p} (Origin ${FOREIGN_ORIGIN}, Sec-Fetch-Site: cross-site) was accepted with ${status}; refuse cross-site unsafe requests.`, url: r.url });
      else notes.push(`Cross-site POST to ${p}: refused with ${status}.`);
    });
  }

  // 5. OpenID discovery and the JWKS (fetched only on this origin).
  let jwksUri: string | undefined = '/.well-known/jwks.json';
  await probe('OpenID discovery', async () => {
    const discovery = await client.send('/.well-known/openid-configuration');
    const doc = discovery?.response.status === 200 ? json(discovery.body) : undefined;
    if (discovery === undefined || doc === undefined) return;
    const d = discoveryFindings(doc, origin, discovery.url);
    findings.push(...d.findings);
    jwksUri = d.jwksUri;
    if (jwksUri !== undefined && URL.canParse(jwksUri) && new URL(jwksUri).origin !== origin) {
      notes.push(`jwks_uri ${jwksUri} is on another origin; not fetched (only ${origin} is contacted).`);
      jwksUri = undefined;
    }
  });
  const jwksTarget = jwksUri;
  if (jwksTarget !== undefined) {
    await probe('JWKS', async () => {
      const jwks = await client.send(jwksTarget);
      if (jwks !== undefined && jwks.response.status === 200 && /json/.test(jwks.response.headers.get('content-type') ?? '')) findings.push(...jwksFindings(jwks.body, jwks.url));
    });
  }

  // One finding per check, URL and message.
  const unique = [...new Map(findings.map((f) => [`${f.check}|${f.url}|${f.message}`, f])).values()];
  unique.sort((a, b) => SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] || a.check.localeCompare(b.check));
  return { origin, requests: client.requests, findings: unique, notes };
}

export function formatLiveText(result: LiveResult): string {
  const out: string[] = [];
  for (const severity of SEVERITIES) {
    const group = result.findings.filter((f) => f.severity === severity);
    if (group.length === 0) continue;
    out.push(`${severity.toUpperCase()} (${group.length})`, '');
    for (const f of group) out.push(`  ${f.check}  ${f.url}`, `    ${f.message}`, '');
  }
  for (const n of result.notes) out.push(`note: ${n}`);
  out.push(`gatehouse audit --url ${result.origin}: ${result.requests} request(s), ${result.findings.length === 0 ? 'no findings' : `${result.findings.length} finding(s)`}.`);
  return out.join('\n');
}

export function formatLiveJson(result: LiveResult): string {
  return JSON.stringify({ version: 1, tool: 'gatehouse audit --url', ...result }, null, 2);
}
