import { createSoftwareAuthenticator, type SoftwareAuthenticator } from '../src/testing/index.js';
import type { PublicKeyCredentialCreationOptionsJSON, PublicKeyCredentialRequestOptionsJSON, RegistrationResponseJSON, AuthenticationResponseJSON } from '@simplewebauthn/server';
import { ORIGIN, type TestInstance } from './helpers.js';

/** Cookie jar for one simulated browser: the session and the ceremony cookie. */
export class Browser {
  readonly jar = new Map<string, string>();
  readonly authenticator: SoftwareAuthenticator;
  constructor(
    private readonly t: TestInstance,
    options: Partial<Parameters<typeof createSoftwareAuthenticator>[0]> = {},
    readonly ip = '203.0.113.10',
  ) {
    this.authenticator = createSoftwareAuthenticator({ origin: ORIGIN, ...options });
  }

  get cookie(): string {
    return [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  get sessionCookie(): string | undefined {
    const v = this.jar.get('__Host-gatehouse-session');
    return v === undefined ? undefined : `__Host-gatehouse-session=${v}`;
  }

  async send(path: string, init: { method?: string; json?: unknown; headers?: Record<string, string> } = {}): Promise<Response> {
    const res = await this.t.request(path, {
      method: init.method ?? 'POST',
      cookie: this.cookie,
      ip: this.ip,
      headers: init.headers,
      body: init.json === undefined ? undefined : JSON.stringify(init.json),
    });
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq);
      const value = pair!.slice(eq + 1);
      if (/Max-Age=0/.test(line)) this.jar.delete(name);
      else this.jar.set(name, value);
    }
    return res;
  }

  async registrationOptions(json: unknown = {}): Promise<PublicKeyCredentialCreationOptionsJSON> {
    const res = await this.send('/auth/passkeys/register/options', { json });
    if (res.status !== 200) throw new Error(`register/options ${res.status}: ${await res.text()}`);
    return (await res.json()) as PublicKeyCredentialCreationOptionsJSON;
  }

  async loginOptions(json: unknown = {}): Promise<PublicKeyCredentialRequestOptionsJSON> {
    const res = await this.send('/auth/passkeys/login/options', { json });
    if (res.status !== 200) throw new Error(`login/options ${res.status}: ${await res.text()}`);
    return (await res.json()) as PublicKeyCredentialRequestOptionsJSON;
  }

  verifyRegistration(response: RegistrationResponseJSON, name?: string): Promise<Response> {
    return this.send('/auth/passkeys/register/verify', { json: name === undefined ? { response } : { response, name } });
  }

  verifyLogin(response: AuthenticationResponseJSON): Promise<Response> {
    return this.send('/auth/passkeys/login/verify', { json: { response } });
  }

  /** Full sign-up; returns the verify response. */
  async signUp(email: string, name = 'Test User'): Promise<Response> {
    const options = await this.registrationOptions({ email, name });
    return this.verifyRegistration(this.authenticator.register(options));
  }

  /** Full usernameless sign-in; returns the verify response. */
  async signIn(): Promise<Response> {
    const options = await this.loginOptions();
    return this.verifyLogin(this.authenticator.authenticate(options));
  }
}
