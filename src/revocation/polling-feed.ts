import type { RevocationRecord } from '../storage/contract.js';
import type { FeedSetup, RevocationFeed } from './feed.js';

/**
 * The revocation feed on SQLite: this process applies its own revocations at once, and other
 * processes on the same file (a second server, the CLI) are heard by polling the revocations
 * table, plus, per request, a cheap PRAGMA data_version check that catches up at once when
 * another connection committed.
 */

/** How often the polling feed reads new revocations, and when it counts as down. */
const POLL_MS = 500;
const POLL_STALE_MS = 2500;
/** Rows are read again this far back: processes' clocks differ a little, and equal times happen. */
const POLL_OVERLAP_MS = 5000;
/** How often a request may read PRAGMA data_version (see catchUp). */
const CHECK_EVERY_MS = 1;

export function createPollingFeed(setup: FeedSetup, poll: (since: number) => Promise<RevocationRecord[]>, dataVersion?: () => number): RevocationFeed {
  const seen = new Map<string, number>();
  let version = dataVersion?.();
  let inFlight: Promise<void> | undefined;
  let catchingUp: Promise<void> | undefined;
  let lastCheck = -Infinity;
  let cursor = 0;
  let lastOk = Date.now();
  let failed = false;
  let running = false;
  const once = async () => {
    if (running) return inFlight;
    running = true;
    try {
      // Taken before the read, recorded only once its revocations are applied: a request that
      // sees a newer version waits for a read that started after that commit. Inside the try:
      // on a closed connection it throws, and must neither escape the timer nor leave `running` set.
      const snapshot = dataVersion?.();
      const records = await poll(cursor);
      let newest = cursor;
      for (const record of records) {
        newest = Math.max(newest, record.at);
        if (seen.has(record.id)) continue;
        seen.set(record.id, record.at);
        setup.onRevocation(record);
      }
      cursor = Math.max(0, newest - POLL_OVERLAP_MS);
      for (const [id, at] of seen) if (at < cursor) seen.delete(id);
      lastOk = Date.now();
      version = snapshot;
      if (failed) {
        failed = false;
        setup.onRecovered?.('revocation feed: reading revocations again; trusting the feed again');
      }
    } catch (error) {
      if (Date.now() - lastOk > POLL_STALE_MS) {
        failed = true;
        setup.onError('revocation feed: cannot read revocations; checking the database on every request until it can', error);
      }
    } finally {
      running = false;
    }
  };
  const run = (): Promise<void> => {
    if (!running) inFlight = once();
    return inFlight ?? Promise.resolve();
  };
  /**
   * A poll already in flight may have started before the commit we saw: after it, read again
   * until a read started after that commit (two rounds at most for any commit before this call).
   */
  const catchUpFrom = async (seen: number): Promise<void> => {
    for (let round = 0; round < 3 && version !== seen; round++) await run();
  };
  const timer = setInterval(() => void run().catch(() => {}), POLL_MS);
  timer.unref();
  void run().catch(() => {});
  return {
    kind: 'local',
    catchUp() {
      if (dataVersion === undefined) return undefined;
      // A catch-up under way: every request waits for it.
      if (catchingUp !== undefined) return catchingUp;
      // PRAGMA data_version is the one per-request cost of the SQLite feed: read it at most once
      // per millisecond. A change another process committed counts for every request that
      // arrives more than 1 ms after the commit (closer than that, the two are concurrent).
      const now = performance.now();
      if (now - lastCheck < CHECK_EVERY_MS) return undefined;
      lastCheck = now;
      let current: number;
      try {
        current = dataVersion();
      } catch {
        return undefined;
      }
      if (current === version) return undefined;
      catchingUp = catchUpFrom(current).finally(() => {
        catchingUp = undefined;
      });
      return catchingUp;
    },
    healthy: () => Date.now() - lastOk < POLL_STALE_MS,
    // The row in the database is the message: other processes read it on their next poll.
    publish: async () => {},
    close: async () => {
      clearInterval(timer);
    },
  };
}
