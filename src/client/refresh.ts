import { DEFAULT_BASE_PATH, isRecord } from './http.js';

/**
 * JWT mode in the browser: a `fetch` that, when the server answers 401
 * ACCESS_TOKEN_EXPIRED, refreshes once and retries once. Concurrent calls share one
 * refresh (single flight); so do tabs, through the Web Locks API and a BroadcastChannel:
 * a tab that waited for the lock while another tab refreshed just retries, and a tab that
 * finds the lock free first checks the session (another tab may have just finished). Tokens stay in
 * HttpOnly cookies; this code never sees them.
 */
export interface AuthFetchOptions {
  /** Where the Gatehouse handler is mounted. Default `/auth`. */
  basePath?: string;
}

const CHANNEL = 'gatehouse-refresh';
const inflight = new Map<string, Promise<boolean>>();
/** When this tab last learnt of a successful refresh (its own or another tab's), per base path. */
const lastRefreshed = new Map<string, number>();
let channel: BroadcastChannel | null | undefined;

function broadcast(): BroadcastChannel | null {
  if (channel === undefined) {
    channel = typeof BroadcastChannel === 'function' ? new BroadcastChannel(CHANNEL) : null;
    channel?.addEventListener('message', (event: MessageEvent<unknown>) => {
      const data = event.data;
      if (isRecord(data) && typeof data.basePath === 'string' && typeof data.at === 'number') {
        lastRefreshed.set(data.basePath, Math.max(data.at, lastRefreshed.get(data.basePath) ?? 0));
      }
    });
    // Never keeps a page (or a Node test) alive on its own.
    const unref = (channel as { unref?: () => void } | null)?.unref;
    if (typeof unref === 'function') unref.call(channel);
  }
  return channel;
}

interface LockManagerLike {
  request<T>(name: string, options: { ifAvailable: true }, callback: (lock: unknown) => Promise<T>): Promise<T>;
  request<T>(name: string, callback: () => Promise<T>): Promise<T>;
}

/** The Web Locks API when the browser has it (all current ones do); otherwise per-tab single flight only. */
function locks(): LockManagerLike | undefined {
  if (typeof navigator === 'undefined') return undefined;
  const manager: unknown = (navigator as { locks?: unknown }).locks;
  return typeof manager === 'object' && manager !== null && 'request' in manager && typeof manager.request === 'function' ? (manager as LockManagerLike) : undefined;
}

function base(options: AuthFetchOptions): string {
  return (options.basePath ?? DEFAULT_BASE_PATH).replace(/\/+$/, '');
}

/**
 * Refreshes the session once for everyone who needs it now: concurrent callers in this tab
 * share the request, other tabs wait on the same lock and skip it if it already happened
 * after `since` (ms). Resolves to whether the session is refreshed.
 */
export function refreshSession(options: AuthFetchOptions = {}, since = Date.now()): Promise<boolean> {
  const basePath = base(options);
  const running = inflight.get(basePath);
  if (running !== undefined) return running;
  const channelNow = broadcast();
  const attempt = async (): Promise<boolean> => {
    if ((lastRefreshed.get(basePath) ?? 0) >= since) return true;
    let res: Response;
    try {
      res = await fetch(`${basePath}/token/refresh`, { method: 'POST', credentials: 'same-origin', cache: 'no-store', headers: { accept: 'application/json' } });
    } catch {
      return false;
    }
    await res.body?.cancel().catch(() => {});
    if (!res.ok) return false;
    const at = Date.now();
    lastRefreshed.set(basePath, at);
    channelNow?.postMessage({ basePath, at });
    return true;
  };
  const manager = locks();
  const name = `gatehouse-refresh:${basePath}`;
  const acrossTabs = async (lockManager: LockManagerLike): Promise<boolean> =>
    lockManager.request(name, { ifAvailable: true }, async (lock) => {
      if (lock !== null) {
        // The lock was free, but another tab may have refreshed a moment ago: its message on the
        // BroadcastChannel can arrive after this tab takes the lock. The cookies are shared, so
        // a cheap session check tells; one extra GET per refresh keeps tabs from refreshing twice.
        if ((lastRefreshed.get(basePath) ?? 0) < since && (await sessionIsValid(basePath))) {
          lastRefreshed.set(basePath, Date.now());
          return true;
        }
        return attempt();
      }
      // Another tab holds the lock: it is refreshing. Wait until it is done, then use the cookies it got.
      return lockManager.request(name, async () => true);
    });
  const promise = (manager === undefined ? attempt() : acrossTabs(manager)).finally(() => inflight.delete(basePath));
  inflight.set(basePath, promise);
  return promise;
}

/** GET <base>/session with the shared cookies: true when the access token is valid now. */
async function sessionIsValid(basePath: string): Promise<boolean> {
  try {
    const res = await fetch(`${basePath}/session`, { credentials: 'same-origin', cache: 'no-store', headers: { accept: 'application/json' } });
    await res.body?.cancel().catch(() => {});
    return res.ok;
  } catch {
    return false;
  }
}

async function isExpired(res: Response): Promise<boolean> {
  if (res.status !== 401) return false;
  const body: unknown = await res
    .clone()
    .json()
    .catch(() => null);
  return isRecord(body) && isRecord(body.error) && body.error.code === 'ACCESS_TOKEN_EXPIRED';
}

/** A `fetch` for your same-origin API in JWT mode: refreshes once on ACCESS_TOKEN_EXPIRED and retries once. */
export function createAuthFetch(options: AuthFetchOptions = {}): (input: RequestInfo | URL, init?: RequestInit) => Promise<Response> {
  return async (input, init) => {
    const since = Date.now();
    // A Request's body can be read once: keep a copy for the retry.
    const retry = input instanceof Request ? input.clone() : input;
    const res = await fetch(input, { credentials: 'same-origin', ...init });
    if (!(await isExpired(res))) return res;
    if (!(await refreshSession(options, since))) return res;
    return fetch(retry, { credentials: 'same-origin', ...init });
  };
}

/** `createAuthFetch()` with the default base path. */
export const authFetch = createAuthFetch();
