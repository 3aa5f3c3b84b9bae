/** The account as every request sees it: role and disabled flag are read on each request. */
export interface User {
  id: string;
  email: string;
  name: string;
  role: string;
  disabled: boolean;
}

/**
 * A database session, without its token (the token only ever travels in Set-Cookie).
 * Device details (IP, user agent) are on the sessions list, not on every request.
 */
export interface Session {
  id: string;
  userId: string;
  createdAt: Date;
  lastSeenAt: Date;
  /** When the session ends if idle; never after `absoluteExpiresAt`. */
  expiresAt: Date;
  absoluteExpiresAt: Date;
  /** When the user last proved who they are; drives `requireFresh`. */
  authTime: Date;
  /** How they signed in, e.g. ["passkey"]. */
  amr: string[];
}

export interface SessionResult {
  user: User;
  session: Session;
}
