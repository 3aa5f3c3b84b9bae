import type { Generated } from 'kysely';

/** Tables as Kysely sees them. Times are milliseconds since the epoch; flags are 0/1 integers. */
export interface UsersTable {
  id: string;
  email: string;
  email_normalized: string;
  name: string;
  role: string;
  disabled: number;
  created_at: number;
  updated_at: number;
  webauthn_user_id: string | null;
}

export interface SessionsTable {
  id: string;
  user_id: string;
  secret_hash: string;
  created_at: number;
  last_seen_at: number;
  expires_at: number;
  absolute_expires_at: number;
  auth_time: number;
  amr: string;
  ip: string | null;
  user_agent: string | null;
}

export interface AuthEventsTable {
  id: Generated<number>;
  type: string;
  user_id: string | null;
  actor_id: string | null;
  session_id: string | null;
  ip: string | null;
  user_agent: string | null;
  data: string | null;
  created_at: number;
}

export interface PasskeysTable {
  id: string;
  user_id: string;
  public_key: string;
  counter: number;
  transports: string;
  device_type: string;
  backed_up: number;
  aaguid: string;
  name: string;
  created_at: number;
  last_used_at: number | null;
}

export interface ChallengesTable {
  id: string;
  binding_hash: string;
  ceremony: string;
  challenge: string;
  user_id: string | null;
  webauthn_user_id: string | null;
  email: string | null;
  name: string | null;
  ip: string | null;
  created_at: number;
  expires_at: number;
}

export interface RecoveryCodesTable {
  id: string;
  user_id: string;
  code_hash: string;
  created_at: number;
  used_at: number | null;
}

export interface IdentitiesTable {
  id: string;
  user_id: string;
  provider: string;
  issuer: string;
  subject: string;
  email: string | null;
  email_verified: number;
  tokens: string | null;
  created_at: number;
  last_used_at: number | null;
}

export interface OAuthTransactionsTable {
  id: string;
  binding_hash: string;
  provider: string;
  intent: string;
  state: string;
  nonce: string;
  code_verifier: string;
  return_to: string;
  user_id: string | null;
  ip: string | null;
  created_at: number;
  expires_at: number;
}

export interface SigningKeysTable {
  kid: string;
  alg: string;
  public_jwk: string;
  private_jwe: string;
  created_at: number;
  superseded_at: number | null;
  retires_at: number | null;
}

export interface RefreshTokensTable {
  id: string;
  family_id: string;
  parent_id: string | null;
  user_id: string;
  secret_hash: string;
  created_at: number;
  expires_at: number;
  rotated_at: number | null;
}

export interface RevocationsTable {
  id: string;
  kind: string;
  subject: string;
  at: number;
  expires_at: number;
}

export interface GatehouseTables {
  gatehouse_users: UsersTable;
  gatehouse_sessions: SessionsTable;
  gatehouse_auth_events: AuthEventsTable;
  gatehouse_passkeys: PasskeysTable;
  gatehouse_challenges: ChallengesTable;
  gatehouse_recovery_codes: RecoveryCodesTable;
  gatehouse_identities: IdentitiesTable;
  gatehouse_oauth_transactions: OAuthTransactionsTable;
  gatehouse_signing_keys: SigningKeysTable;
  gatehouse_refresh_tokens: RefreshTokensTable;
  gatehouse_revocations: RevocationsTable;
}
