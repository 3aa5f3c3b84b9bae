import type { RevocationKind, RevocationRecord, Storage } from '../storage/contract.js';

/** What the storage wrapper needs from the revocations: */
export interface Revoker {
  /** Records one revocation now: this instance, the database, then every other instance. */
  revoke(kind: RevocationKind, subject: string): Promise<void>;
  /** A revocation record for a change about to be written (in the change's own transaction). */
  record(kind: RevocationKind, subject: string): RevocationRecord;
  /** Applies records a committed transaction wrote: this instance, then every other instance. */
  announce(records: readonly RevocationRecord[]): Promise<void>;
}

/**
 * The storage as JWT mode sees it: every session end (sign-out, a device, revoke-all, admin
 * and CLI revocation, a promotion, a disable, a recovery sign-in, refresh-token reuse) and
 * every role or disabled change also becomes a revocation, so access JWTs stop working on the
 * next request on every instance (SESS-07, SESS-09, AUTHZ-05). Routes need not know.
 */
export function withRevocations(store: Storage, revoker: Revoker): Storage {
  const { revoke } = revoker;
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
    async changeUser(change) {
      // The revocation rows commit with the change (a process killed in between leaves neither);
      // the other instances hear of them once it committed.
      let records: RevocationRecord[] = [];
      const result = await store.changeUser({
        ...change,
        revocations: ({ patch, endedSessions }) => {
          records = [
            ...(patch.role !== undefined || patch.disabled === true || patch.name !== undefined ? [revoker.record('user', change.userId)] : []),
            ...endedSessions.map((id) => revoker.record('session', id)),
          ];
          return records;
        },
      });
      if (result.changed) await revoker.announce(records);
      return result;
    },
    async createSessionWithEvent(session, event, passkeyUse, recovery) {
      const started = await store.createSessionWithEvent(session, event, passkeyUse, recovery);
      // A recovery sign-in ended the account's other sessions in its transaction.
      for (const id of started.endedSessions ?? []) await revoke('session', id);
      return started;
    },
  };
}
