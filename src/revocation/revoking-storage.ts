import type { RevocationKind, Storage } from '../storage/contract.js';

/**
 * The storage as JWT mode sees it: every session end (sign-out, a device, revoke-all, admin
 * and CLI revocation, a promotion, a disable, a recovery sign-in, refresh-token reuse) and
 * every role or disabled change also becomes a revocation, so access JWTs stop working on the
 * next request on every instance (SESS-07, SESS-09, AUTHZ-05). Routes need not know.
 */
export function withRevocations(store: Storage, revoke: (kind: RevocationKind, subject: string) => Promise<void>): Storage {
  return {
    ...store,
    async deleteSession(id, userId) {
      const deleted = await store.deleteSession(id, userId);
      if (deleted) await revoke('session', id);
      return deleted;
    },
    async deleteUserSessions(userId, exceptId) {
      const ended = await store.deleteUserSessions(userId, exceptId);
      for (const id of ended) await revoke('session', id);
      return ended;
    },
    async updateUser(id, patch, at) {
      const updated = await store.updateUser(id, patch, at);
      // A role change or a disable refuses every access token issued before it; a new name makes
      // them stale too, so the next refresh carries it (and the session cache drops the old one).
      if (updated !== null && (patch.role !== undefined || patch.disabled === true || patch.name !== undefined)) await revoke('user', id);
      return updated;
    },
  };
}
