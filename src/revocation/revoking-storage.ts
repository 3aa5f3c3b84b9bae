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
      let sessions: RevocationRecord[] = [];
      let userChanged = false;
      const result = await store.changeUser({
        ...change,
        revocations: ({ patch, endedSessions }) => {
          userChanged = patch.role !== undefined || patch.disabled === true || patch.name !== undefined;
          sessions = endedSessions.map((id) => revoker.record('session', id));
          return [...(userChanged ? [revoker.record('user', change.userId)] : []), ...sessions];
        },
      });
      if (!result.changed) return result;
      await revoker.announce(sessions);
      // The user's "not before" once more, stamped AFTER the commit: the row written inside the
      // transaction carries a time from before it, and a refresh reading the old role between
      // that time and the commit would sign it with an issue time the check accepts (AUTHZ-05).
      if (userChanged) await revoke('user', change.userId);
      return result;
    },
    async createSessionWithEvent(session, event, passkeyUse, recovery) {
      if (recovery === undefined) return store.createSessionWithEvent(session, event, passkeyUse);
      // A recovery sign-in ends the account's other sessions: their revocations commit with it.
      let records: RevocationRecord[] = [];
      const started = await store.createSessionWithEvent(session, event, passkeyUse, {
        ...recovery,
        revocations: (endedSessions) => (records = endedSessions.map((id) => revoker.record('session', id))),
      });
      if (started.recoveryCodeUsed === true) await revoker.announce(records);
      return started;
    },
  };
}
