import type { GatehouseLogger } from '../config/options.js';

/**
 * How long repeats of one failure line are counted instead of logged (docs/operations.md, "Logs").
 * A minute: an outage still shows in the log within a minute of each change, and a dependency
 * that is down for an hour costs about 60 lines per path instead of one per request or retry.
 */
export const LOG_THROTTLE_WINDOW_MS = 60_000;

/**
 * A logger for failures that repeat while a dependency is down (the revocation feed's Redis or
 * PostgreSQL LISTEN, the session cache's feed). The first line of each message is logged at once,
 * as given (its cause in the details); repeats of the same message within the window are only
 * counted, and one summary line with the count ends the window (a new window starts while they
 * go on). `recovered()` summarises what is pending and logs the recovery once.
 */
export interface ThrottledLogger {
  warn(message: string, details?: Record<string, unknown>): void;
  error(message: string, details?: Record<string, unknown>): void;
  /** The dependency is back: the pending summaries, then `message` (as a warning). Nothing when nothing failed since the last recovery. */
  recovered(message: string): void;
  /** Logs the pending summaries and stops the timers (the feed is closing). */
  close(): void;
}

interface Repeats {
  level: 'warn' | 'error';
  count: number;
  details: Record<string, unknown> | undefined;
  timer: NodeJS.Timeout;
}

export function throttleLog(logger: GatehouseLogger, windowMs = LOG_THROTTLE_WINDOW_MS): ThrottledLogger {
  const open = new Map<string, Repeats>();
  let failing = false;

  const summarise = (message: string, repeats: Repeats) => {
    if (repeats.count === 0) return;
    logger[repeats.level](`${message} (repeated ${repeats.count} more time${repeats.count === 1 ? '' : 's'}, not logged one by one)`, { ...repeats.details, repeated: repeats.count });
    repeats.count = 0;
  };
  const startWindow = (message: string) => {
    const timer = setTimeout(() => {
      const repeats = open.get(message);
      if (repeats === undefined) return;
      // Quiet all window: the next one is logged in full at once. Else keep counting.
      if (repeats.count === 0) open.delete(message);
      else {
        summarise(message, repeats);
        repeats.timer = startWindow(message);
      }
    }, windowMs);
    timer.unref();
    return timer;
  };
  const log = (level: 'warn' | 'error') => (message: string, details?: Record<string, unknown>) => {
    failing = true;
    const repeats = open.get(message);
    if (repeats !== undefined) {
      repeats.count++;
      repeats.details = details;
      return;
    }
    logger[level](message, details);
    open.set(message, { level, count: 0, details: undefined, timer: startWindow(message) });
  };
  const flush = () => {
    for (const [message, repeats] of open) {
      clearTimeout(repeats.timer);
      summarise(message, repeats);
    }
    open.clear();
  };

  return {
    warn: log('warn'),
    error: log('error'),
    recovered(message) {
      if (!failing) return;
      failing = false;
      flush();
      logger.warn(message);
    },
    close: flush,
  };
}
