// How close can ANY handler taking a web Request get to the passkey goal on this machine?
// Three targets in interleaved blocks, like passkeys.mjs: Gatehouse's handler; the floor, which
// does only the steps a correct sign-in cannot skip, inline, with Gatehouse's own pieces (read
// and validate the JSON body, take the challenge, find the key, verify, one transaction for the
// counter + session + audit event, a JSON Response with the cookie) and none of the framework
// (no routing, CSRF check, rate limits, error mapping); and verifyAuthenticationResponse alone.
// Not part of `npm run bench`: run `node bench/passkeys-floor.mjs` (C=8 for 8 in flight).
import { randomBytes, hash } from 'node:crypto';
import { verifyAuthenticationResponse, generateAuthenticationOptions } from '@simplewebauthn/server';
import { isoBase64URL } from '@simplewebauthn/server/helpers';
import { z } from 'zod';
import { GATEHOUSE_ENTRY } from './lib/config.mjs';
import { ORIGIN, passkeyBenchSetup } from './lib/passkey-setup.mjs';

const BLOCKS = 10;
const PER_BLOCK = Math.floor(Math.min(9000, Number(process.env.BENCH_PASSKEY_COUNT ?? 2000)) / BLOCKS);
const CONCURRENCY = Number(process.env.C ?? 1);
const dist = (path) => import(new URL(`../../dist/src/${path}`, GATEHOUSE_ENTRY).href);

const { authenticationResponse } = await dist('passkeys/verify-input.js');
const { readJson } = await dist('http/body.js');
const verifyBody = z.object({ response: authenticationResponse }).strict();
const { store, authenticator, request, post, cookieOf, verifyDirectly, close } = await passkeyBenchSetup({ maxPendingPerIp: 10_000 });

// Inputs made before the clock starts: options and signatures, one per call.
const count = PER_BLOCK * BLOCKS + 20;
async function signIns(ip) {
  const out = [];
  for (let i = 0; i < count; i++) {
    const res = await post('/auth/passkeys/login/options', {}, undefined, ip);
    out.push({ cookie: cookieOf(res), response: authenticator.authenticate(await res.json()) });
  }
  return out;
}
const handlerInputs = await signIns('10.0.0.1');
const floorInputs = await signIns('10.0.0.2');
const directInputs = [];
for (let i = 0; i < count; i++) {
  const options = await generateAuthenticationOptions({ rpID: 'localhost', allowCredentials: [], userVerification: 'required' });
  directInputs.push({ challenge: options.challenge, response: authenticator.authenticate(options) });
}

const next = { handler: 0, floor: 0, direct: 0 };
const targets = {
  async handler() {
    const { cookie, response } = handlerInputs[next.handler++];
    const res = await post('/auth/passkeys/login/verify', { response }, cookie);
    if (res.status !== 200) throw new Error(`handler answered ${res.status}`);
  },
  async floor() {
    const { cookie, response } = floorInputs[next.floor++];
    const req = request('/auth/passkeys/login/verify', { response }, cookie);
    const input = verifyBody.parse(await readJson(req, 65_536));
    const secret = req.headers.get('cookie').split('=')[1];
    const challenge = await store.consumeChallenge(hash('sha256', secret, 'base64url'), 'login', Date.now());
    const found = await store.findPasskey(input.response.id);
    const verification = await verifyAuthenticationResponse({
      response: input.response,
      expectedChallenge: challenge.challenge,
      expectedOrigin: ORIGIN,
      expectedRPID: 'localhost',
      credential: { id: found.passkey.id, publicKey: isoBase64URL.toBuffer(found.passkey.publicKey), counter: found.passkey.counter },
      requireUserVerification: true,
    });
    if (!verification.verified) throw new Error('floor: not verified');
    const now = Date.now();
    const bytes = randomBytes(48);
    const id = bytes.toString('base64url', 0, 16);
    const tokenSecret = bytes.toString('base64url', 16);
    const session = {
      id,
      userId: found.passkey.userId,
      secretHash: hash('sha256', tokenSecret, 'base64url'),
      createdAt: now,
      lastSeenAt: now,
      expiresAt: now + 86_400_000,
      absoluteExpiresAt: now + 2_592_000_000,
      authTime: now,
      amr: ['passkey'],
      ip: '127.0.0.1',
      userAgent: null,
    };
    const event = { type: 'session.created', userId: session.userId, actorId: null, sessionId: id, ip: '127.0.0.1', userAgent: null, data: { method: 'passkey' }, createdAt: now };
    const use = { id: found.passkey.id, previousCounter: found.passkey.counter, counter: verification.authenticationInfo.newCounter, backedUp: false, lastUsedAt: now };
    const { user, passkeyUseRecorded } = await store.createSessionWithEvent(session, event, use);
    if (!passkeyUseRecorded) throw new Error('floor: counter race');
    const res = new Response(
      JSON.stringify({ user: { id: user.id, email: user.email, name: user.name, role: user.role }, session: { id, createdAt: new Date(now).toISOString(), expiresAt: new Date(session.expiresAt).toISOString() } }),
      {
        status: 200,
        headers: [
          ['content-type', 'application/json; charset=utf-8'],
          ['cache-control', 'no-store'],
          ['set-cookie', `__Host-gatehouse-session=${id}.${tokenSecret}; Path=/; HttpOnly; Secure; SameSite=Lax`],
          ['set-cookie', '__Host-gatehouse-ceremony=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Strict'],
        ],
      },
    );
    if (res.status !== 200) throw new Error('floor: response');
  },
  direct: () => verifyDirectly(directInputs[next.direct++]),
};

for (const run of Object.values(targets)) for (let i = 0; i < 20; i++) await run();
const rates = { handler: [], floor: [], direct: [] };
for (let block = 0; block < BLOCKS; block++) {
  const order = block % 2 === 0 ? ['handler', 'floor', 'direct'] : ['direct', 'floor', 'handler'];
  for (const name of order) {
    let issued = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (issued < PER_BLOCK) {
          issued++;
          await targets[name]();
        }
      }),
    );
    rates[name].push((PER_BLOCK / (performance.now() - started)) * 1000);
  }
}
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
console.log(`Passkey sign-in floor, ${CONCURRENCY} in flight, ${BLOCKS} blocks of ${PER_BLOCK}; direct ${median(rates.direct).toFixed(0)}/s`);
for (const name of ['handler', 'floor']) {
  const ratios = rates[name].map((rate, i) => rate / rates.direct[i]);
  console.log(`  ${name.padEnd(8)} / direct = ${median(ratios).toFixed(2)} (blocks ${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)})`);
}
await close();
