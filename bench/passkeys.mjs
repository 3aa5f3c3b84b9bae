// Passkey sign-in verifications per second: Gatehouse's HTTP handler (POST
// /auth/passkeys/login/verify: body parsing, ceremony lookup and atomic consume, key
// lookup, @simplewebauthn/server verification, counter update, new session, cookie)
// against verifyAuthenticationResponse called directly in a loop (the limit), in one
// process, same authenticator, same key type. The login/options step and the
// authenticator's signing happen before the clock starts for both.
import { verifyAuthenticationResponse, generateAuthenticationOptions } from '@simplewebauthn/server';
import { isoBase64URL } from '@simplewebauthn/server/helpers';
import { GATEHOUSE_ENTRY } from './lib/config.mjs';

const ORIGIN = 'http://localhost:3000';

/**
 * Runs `count` calls, `concurrency` in flight at a time (1 = a plain sequential loop). Both
 * targets are measured at the same concurrency, so the ratio compares like with like.
 */
async function measure(label, count, run, concurrency = 1) {
  for (let i = 0; i < Math.min(50, count); i++) await run(i, true);
  const started = process.hrtime.bigint();
  let issued = 0;
  const worker = async () => {
    while (issued < count) {
      const i = issued++;
      await run(i, false);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const perSecond = count / seconds;
  console.log(`  ${label.padEnd(44)} ${perSecond.toFixed(0).padStart(7)} verifications/s`);
  return perSecond;
}

export async function runPasskeyBench(count = Math.min(9000, Number(process.env.BENCH_PASSKEY_COUNT ?? 2000))) {
  const { createGatehouse, openDatabase } = await import(GATEHOUSE_ENTRY.href);
  const { createSoftwareAuthenticator } = await import(new URL('../../dist/src/testing/index.js', GATEHOUSE_ENTRY).href);
  console.log(`\nPasskey sign-in verification, ${count} per target (in process)`);
  const database = await openDatabase('sqlite::memory:');
  const auth = createGatehouse({
    database,
    origin: ORIGIN,
    logger: { warn() {}, error() {} },
    rateLimit: { limits: { ceremony: { points: 1_000_000, durationSeconds: 60 } } },
    passkeys: { maxPendingPerIp: 10_000 },
  });
  await auth.migrate();
  const authenticator = createSoftwareAuthenticator({ origin: ORIGIN, zeroCounter: true });
  const post = (path, json, cookie) =>
    auth.handler(
      new Request(`${ORIGIN}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'sec-fetch-site': 'same-origin', ...(cookie ? { cookie } : {}) },
        body: JSON.stringify(json),
      }),
      { ip: '127.0.0.1' },
    );
  // The ceremony cookie from the options response goes along with the verify request.
  const cookieOf = (res) => res.headers.getSetCookie().find((c) => c.startsWith('__Host-gatehouse-ceremony='))?.split(';')[0];
  const regRes = await post('/auth/passkeys/register/options', { email: 'bench@example.com', name: 'Bench' });
  const regJson = await regRes.json();
  const signUp = await post('/auth/passkeys/register/verify', { response: authenticator.register(regJson) }, cookieOf(regRes));
  if (signUp.status !== 201) throw new Error(`bench sign-up failed: ${signUp.status} ${await signUp.text()}`);

  // Pre-made inputs: the options step and the authenticator's signing stay off the clock.
  const CONCURRENCY = [1, 8];
  const total = CONCURRENCY.length * (count + 50);
  const prepared = [];
  for (let i = 0; i < total; i++) {
    const res = await post('/auth/passkeys/login/options', {});
    prepared.push({ cookie: cookieOf(res), response: authenticator.authenticate(await res.json()) });
  }
  const credential = authenticator.credentials[0];
  const stored = (await (await auth.storage()).findPasskey(credential.id)).passkey;
  const direct = [];
  for (let i = 0; i < total; i++) {
    const options = await generateAuthenticationOptions({ rpID: 'localhost', allowCredentials: [], userVerification: 'required' });
    direct.push({ challenge: options.challenge, response: authenticator.authenticate(options) });
  }
  let nextHandler = 0;
  let nextDirect = 0;
  const results = [];
  for (const concurrency of CONCURRENCY) {
    // (1) Through the handler: every verification is a full sign-in.
    const handler = await measure(`Gatehouse handler (login/verify), ${concurrency} in flight`, count, async () => {
      const { cookie, response } = prepared[nextHandler++];
      const res = await post('/auth/passkeys/login/verify', { response }, cookie);
      if (res.status !== 200) throw new Error(`verify failed: ${res.status} ${await res.text()}`);
    }, concurrency);
    // (2) The limit: the library's verification alone, same key, same concurrency.
    const limit = await measure(`verifyAuthenticationResponse, ${concurrency} in flight`, count, async () => {
      const { challenge, response } = direct[nextDirect++];
      const result = await verifyAuthenticationResponse({
        response,
        expectedChallenge: challenge,
        expectedOrigin: ORIGIN,
        expectedRPID: 'localhost',
        credential: { id: stored.id, publicKey: isoBase64URL.toBuffer(stored.publicKey), counter: 0 },
        requireUserVerification: true,
      });
      if (!result.verified) throw new Error('direct verification failed');
    }, concurrency);
    const ratio = handler / limit;
    console.log(`  handler / direct at ${concurrency} in flight = ${ratio.toFixed(2)} (goal >= 0.70: ${ratio >= 0.7 ? 'meets goal' : 'BELOW GOAL'})`);
    results.push({ concurrency, handlerPerSecond: handler, directPerSecond: limit, ratio });
  }
  await auth.close();
  await database.close();
  return { results, count };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  runPasskeyBench().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
