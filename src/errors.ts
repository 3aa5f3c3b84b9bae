/**
 * The whole error vocabulary of Gatehouse. Every failure a caller can see is an
 * `AuthError` with a stable `code` and the HTTP `status` it maps to; `http/errors.ts`
 * turns it into the one JSON error shape. Callers match on `code`, never on text.
 */
const BRAND = Symbol.for('gatehouse.AuthError');

export class AuthError extends Error {
  readonly code: string;
  readonly status: number;
  constructor(code: string, status: number, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.status = status;
    Object.defineProperty(this, BRAND, { value: true });
  }

  /**
   * `instanceof` works across two copies of the package (an app and a library each
   * bundling Gatehouse): an error thrown by one copy still maps to its status in the other.
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (typeof value !== 'object' || value === null || !(BRAND in value)) return false;
    if (this === AuthError) return true;
    return Object.prototype.isPrototypeOf.call(this.prototype, value) || ('name' in value && value.name === this.name);
  }
}

export class BadRequestError extends AuthError {
  constructor(code: 'INVALID_JSON' | 'INVALID_ENCODING' | 'VALIDATION_FAILED' | 'BAD_REQUEST', message: string) {
    super(code, 400, message);
  }
}

export class UnauthenticatedError extends AuthError {
  constructor(message = 'Sign in to continue.') {
    super('UNAUTHENTICATED', 401, message);
  }
}

/**
 * The access token expired, or was issued before a change to the account (JWT mode): the
 * client refreshes once (`POST /auth/token/refresh`) and retries. Distinct from
 * UNAUTHENTICATED, which means "sign in again".
 */
export class AccessTokenExpiredError extends AuthError {
  constructor(message = 'The access token expired. Refresh it and retry.') {
    super('ACCESS_TOKEN_EXPIRED', 401, message);
  }
}

export class ForbiddenError extends AuthError {
  constructor(message = 'You do not have permission to do this.', code = 'FORBIDDEN') {
    super(code, 403, message);
  }
}

/** A sensitive action needs a recent sign-in (ASVS V7.5.1). */
export class ReauthenticationRequiredError extends AuthError {
  readonly maxAgeSeconds: number;
  constructor(maxAgeSeconds: number) {
    super('REAUTHENTICATION_REQUIRED', 403, `This action needs a sign-in from the last ${maxAgeSeconds} seconds. Sign in again and retry.`);
    this.maxAgeSeconds = maxAgeSeconds;
  }
}

export class CsrfError extends AuthError {
  readonly reason: string;
  constructor(reason: string) {
    super('CSRF_REFUSED', 403, 'Cross-site request refused.');
    this.reason = reason;
  }
}

export class NotFoundError extends AuthError {
  constructor(message = 'Not found.') {
    super('NOT_FOUND', 404, message);
  }
}

export class MethodNotAllowedError extends AuthError {
  readonly allow: readonly string[];
  constructor(allow: readonly string[]) {
    super('METHOD_NOT_ALLOWED', 405, `Use ${allow.join(' or ')} for this endpoint.`);
    this.allow = allow;
  }
}

export class ConflictError extends AuthError {
  constructor(code: string, message: string) {
    super(code, 409, message);
  }
}

export class PayloadTooLargeError extends AuthError {
  constructor(limit: number) {
    super('PAYLOAD_TOO_LARGE', 413, `The request body is larger than ${limit} bytes.`);
  }
}

export class UnsupportedMediaTypeError extends AuthError {
  constructor() {
    super('UNSUPPORTED_MEDIA_TYPE', 415, 'Send the request body as application/json.');
  }
}

export class RateLimitedError extends AuthError {
  readonly retryAfterSeconds: number;
  constructor(retryAfterSeconds: number) {
    const wait = Math.max(1, Math.ceil(retryAfterSeconds));
    super('RATE_LIMITED', 429, `Too many requests. Try again in ${wait} seconds.`);
    this.retryAfterSeconds = wait;
  }
}

/** A dependency (database, rate-limit store) failed: fail closed (ERR-02). */
export class ServiceUnavailableError extends AuthError {
  constructor(message = 'The service is temporarily unavailable. Try again shortly.', options?: { cause?: unknown }) {
    super('SERVICE_UNAVAILABLE', 503, message, options);
  }
}

/** Thrown at startup: the configuration cannot work. The message says what to fix. */
export class ConfigurationError extends Error {
  constructor(message: string) {
    super(`Gatehouse configuration: ${message}`);
    this.name = 'ConfigurationError';
  }
}
