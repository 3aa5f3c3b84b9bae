/**
 * The one error the browser helpers throw. `code` is stable: match on it, never on
 * `message`, which is the server's human text (safe to show) or a client-side one.
 *
 * - a server error code, e.g. `RATE_LIMITED`, `REAUTHENTICATION_REQUIRED`, `PASSKEY_VERIFICATION_FAILED`
 * - `CANCELLED`: the user closed the passkey dialog, it timed out, or the request was aborted
 * - `UNSUPPORTED`: this browser has no WebAuthn (or, for `autofill`, no conditional mediation)
 * - `ALREADY_REGISTERED`: this authenticator already holds a passkey for the account
 * - `AUTHENTICATOR_ERROR`: the browser or authenticator refused for another reason
 * - `NETWORK_ERROR`: the server could not be reached
 * - `BAD_RESPONSE`: the server answered with something that is not Gatehouse's JSON
 */
export type ClientErrorCode =
  | 'CANCELLED'
  | 'UNSUPPORTED'
  | 'ALREADY_REGISTERED'
  | 'AUTHENTICATOR_ERROR'
  | 'NETWORK_ERROR'
  | 'BAD_RESPONSE'
  // Server codes are open-ended; `string & {}` keeps the names above in autocompletion.
  | (string & {});

export interface GatehouseClientErrorOptions {
  /** The HTTP status, when the server answered. */
  status?: number;
  /** For 429: seconds to wait, from the Retry-After header. */
  retryAfterSeconds?: number;
  cause?: unknown;
}

export class GatehouseClientError extends Error {
  readonly code: ClientErrorCode;
  readonly status: number | undefined;
  readonly retryAfterSeconds: number | undefined;

  constructor(code: ClientErrorCode, message: string, options: GatehouseClientErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GatehouseClientError';
    this.code = code;
    this.status = options.status;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}
