import { badResponse, callApi, isRecord, type ClientOptions } from './http.js';

/** A provider identity linked to the signed-in account, as `GET /auth/accounts` lists it. */
export interface LinkedAccount {
  id: string;
  provider: string;
  providerName: string;
  email: string | null;
  emailVerified: boolean;
  createdAt: string;
  lastUsedAt: string | null;
}

export interface LinkProviderOptions extends ClientOptions {
  /** The provider id, as configured (e.g. "google"). */
  provider: string;
  /** Same-origin path to come back to afterwards. Default `/`. */
  returnTo?: string;
}

export interface AccountIdOptions extends ClientOptions {
  id: string;
}

function parseLinkedAccount(value: unknown): LinkedAccount {
  if (!isRecord(value) || typeof value.id !== 'string' || typeof value.provider !== 'string') throw badResponse('linked account');
  return {
    id: value.id,
    provider: value.provider,
    providerName: typeof value.providerName === 'string' ? value.providerName : value.provider,
    email: typeof value.email === 'string' ? value.email : null,
    emailVerified: value.emailVerified === true,
    createdAt: String(value.createdAt),
    lastUsedAt: typeof value.lastUsedAt === 'string' ? value.lastUsedAt : null,
  };
}

/** The providers linked to the signed-in account. */
export async function listLinkedAccounts(options: ClientOptions = {}): Promise<LinkedAccount[]> {
  const body = await callApi('GET', '/accounts', options);
  if (!isRecord(body) || !Array.isArray(body.accounts)) throw badResponse('linked accounts');
  return body.accounts.map(parseLinkedAccount);
}

/**
 * Starts linking a provider to the signed-in account (needs a recent sign-in) and returns the
 * provider's URL: send the browser there (`location.assign(url)`); it comes back to `returnTo`.
 */
export async function linkProvider(options: LinkProviderOptions): Promise<string> {
  const body = await callApi('POST', `/oauth/${encodeURIComponent(options.provider)}/link`, {
    basePath: options.basePath,
    signal: options.signal,
    body: options.returnTo === undefined ? {} : { returnTo: options.returnTo },
  });
  if (!isRecord(body) || typeof body.url !== 'string') throw badResponse('link');
  return body.url;
}

/** Unlinks a provider; refused (LAST_SIGN_IN_METHOD) when it is the account's last way to sign in. */
export async function unlinkAccount(options: AccountIdOptions): Promise<void> {
  await callApi('DELETE', `/accounts/${encodeURIComponent(options.id)}`, { basePath: options.basePath, signal: options.signal });
}
