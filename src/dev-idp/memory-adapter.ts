import type { Adapter, AdapterPayload } from 'oidc-provider';

/**
 * In-memory storage for oidc-provider models (sessions, interactions, codes, grants).
 * One store belongs to one dev IdP and outlives the Provider instances that `rotateKeys()`
 * creates, so a sign-in that started before a rotation finishes after it. Expiry is checked
 * on read and expired rows are swept on write: no timers, nothing to stop on close.
 */
export interface MemoryStore {
  adapterFor(model: string): Adapter;
  clear(): void;
}

interface Row {
  payload: AdapterPayload;
  expiresAt: number;
}

const SWEEP_EVERY = 200;
// The models whose rows die with their grant (revokeByGrantId), as in oidc-provider's own adapter.
const GRANTABLE = new Set(['AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest']);

export function createMemoryStore(now: () => number = Date.now): MemoryStore {
  const rows = new Map<string, Row>();
  // Secondary indexes: session uid -> session key, user code -> key, grant id -> member keys.
  const byUid = new Map<string, string>();
  const byUserCode = new Map<string, string>();
  const byGrant = new Map<string, Set<string>>();
  let writes = 0;

  function read(key: string): AdapterPayload | undefined {
    const row = rows.get(key);
    if (row === undefined) return undefined;
    if (row.expiresAt <= now()) {
      remove(key);
      return undefined;
    }
    return row.payload;
  }

  function remove(key: string): void {
    const row = rows.get(key);
    if (row === undefined) return;
    rows.delete(key);
    const { uid, userCode, grantId } = row.payload;
    if (uid !== undefined && byUid.get(uid) === key) byUid.delete(uid);
    if (userCode !== undefined && byUserCode.get(userCode) === key) byUserCode.delete(userCode);
    if (grantId !== undefined) byGrant.get(grantId)?.delete(key);
  }

  function sweep(): void {
    const t = now();
    for (const [key, row] of rows) if (row.expiresAt <= t) remove(key);
    for (const [grantId, members] of byGrant) if (members.size === 0) byGrant.delete(grantId);
  }

  function adapterFor(model: string): Adapter {
    const keyOf = (id: string) => `${model}:${id}`;
    return {
      async upsert(id, payload, expiresIn) {
        if (++writes % SWEEP_EVERY === 0) sweep();
        const key = keyOf(id);
        remove(key);
        rows.set(key, { payload, expiresAt: typeof expiresIn === 'number' ? now() + expiresIn * 1000 : Infinity });
        if (model === 'Session' && payload.uid !== undefined) byUid.set(payload.uid, key);
        if (payload.userCode !== undefined) byUserCode.set(payload.userCode, key);
        if (GRANTABLE.has(model) && payload.grantId !== undefined) {
          const members = byGrant.get(payload.grantId) ?? new Set<string>();
          members.add(key);
          byGrant.set(payload.grantId, members);
        }
      },
      async find(id) {
        return read(keyOf(id));
      },
      async findByUid(uid) {
        const key = byUid.get(uid);
        return key === undefined ? undefined : read(key);
      },
      async findByUserCode(userCode) {
        const key = byUserCode.get(userCode);
        return key === undefined ? undefined : read(key);
      },
      async consume(id) {
        const payload = read(keyOf(id));
        if (payload !== undefined) payload.consumed = Math.floor(now() / 1000);
      },
      async destroy(id) {
        remove(keyOf(id));
      },
      async revokeByGrantId(grantId) {
        for (const key of byGrant.get(grantId) ?? []) remove(key);
        byGrant.delete(grantId);
      },
    };
  }

  return {
    adapterFor,
    clear() {
      rows.clear();
      byUid.clear();
      byUserCode.clear();
      byGrant.clear();
    },
  };
}
