// The setup both passkey benches share: Gatehouse on an in-memory SQLite database (ceremony
// limits out of the way), a software authenticator with one registered passkey, and helpers
// that send JSON requests to the handler the way a same-origin browser would.
import { verifyAuthenticationResponse } from '@simplewebauthn/server';
import { isoBase64URL } from '@simplewebauthn/server/helpers';
import { GATEHOUSE_ENTRY } from './config.mjs';

export const ORIGIN = 'http://localhost:3000';

export async function passkeyBenchSetup({ maxPendingPerIp }) {
  const { createGatehouse, openDatabase } = await import(GATEHOUSE_ENTRY.href);
  const { createSoftwareAuthenticator } = await import(new URL('../../dist/src/testing/index.js', GATEHOUSE_ENTRY).href);
  const database = await openDatabase('sqlite::memory:');
  const auth = createGatehouse({
    database,
    origin: ORIGIN,
    logger: { warn() {}, error() {} },
    rateLimit: { limits: { ceremony: { points: 1_000_000, durationSeconds: 60 } } },
    passkeys: { maxPendingPerIp },
  });
  await auth.migrate();
  const authenticator = createSoftwareAuthenticator({ origin: ORIGIN, zeroCounter: true });
  const request = (path, json, cookie) =>
    new Request(`${ORIGIN}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'sec-fetch-site': 'same-origin', ...(cookie ? { cookie } : {}) },
      body: JSON.stringify(json),
    });
  const post = (path, json, cookie, ip = '127.0.0.1') => auth.handler(request(path, json, cookie), { ip });
  // The ceremony cookie from the options response goes along with the verify request.
  const cookieOf = (res) => res.headers.getSetCookie().find((c) => c.startsWith('__Host-gatehouse-ceremony='))?.split(';')[0];
  const regRes = await post('/auth/passkeys/register/options', { email: 'bench@example.com', name: 'Bench' });
  const signUp = await post('/auth/passkeys/register/verify', { response: authenticator.register(await regRes.json()) }, cookieOf(regRes));
  if (signUp.status !== 201) throw new Error(`bench sign-up failed: ${signUp.status} ${await signUp.text()}`);
  const store = await auth.storage();
  const stored = (await store.findPasskey(authenticator.credentials[0].id)).passkey;
  // The limit: the library's verification alone, same key, same origin, RP ID and user-verification rule.
  const verifyDirectly = async ({ challenge, response }) => {
    const result = await verifyAuthenticationResponse({
      response,
      expectedChallenge: challenge,
      expectedOrigin: ORIGIN,
      expectedRPID: 'localhost',
      credential: { id: stored.id, publicKey: isoBase64URL.toBuffer(stored.publicKey), counter: 0 },
      requireUserVerification: true,
    });
    if (!result.verified) throw new Error('direct verification failed');
  };
  const close = async () => {
    await auth.close();
    await database.close();
  };
  return { auth, store, authenticator, request, post, cookieOf, verifyDirectly, close };
}
