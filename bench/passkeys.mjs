// Passkey sign-in verifications per second: Gatehouse's HTTP handler (POST
// /auth/passkeys/login/verify: the Request, body parsing, ceremony lookup and atomic consume,
// key lookup, @simplewebauthn/server verification, counter update, new session with its audit
// event, cookie, Response) against verifyAuthenticationResponse called directly in a loop (the
// limit), in one process, same authenticator, same key type. The login/options step and the
// authenticator's signing happen before the clock starts for both.
//
// The targets run in interleaved blocks (handler, direct, HTTP-only, then the reverse order,
// ...), so a slow spell of the shared machine hits all of them; each block gives one ratio.
import { generateAuthenticationOptions } from '@simplewebauthn/server';
import { ORIGIN, passkeyBenchSetup } from './lib/passkey-setup.mjs';

const BLOCKS = 10;
const CONCURRENCY = [1, 8];
/** Each concurrency level asks for its options from its own address: pending ceremonies are bounded per IP. */
const MAX_PENDING = 10_000;

/** Runs `count` calls, `concurrency` in flight at a time (1 = a plain sequential loop); wall seconds and process CPU µs. */
async function timed(count, run, concurrency) {
  let issued = 0;
  const worker = async () => {
    while (issued < count) {
      issued++;
      await run();
    }
  };
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const used = process.cpuUsage(cpu);
  return { seconds, cpuMicros: used.user + used.system };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Measures every target in BLOCKS blocks of count/BLOCKS calls, the order reversed every other
 * block. Per target: calls per second over all blocks and CPU µs per call; per block: each
 * target's rate divided by the direct call's in the same block.
 */
async function compare(targets, count, concurrency) {
  for (const target of targets) for (let i = 0; i < 50; i++) await target.run();
  const perBlock = Math.floor(count / BLOCKS);
  const totals = targets.map(() => ({ seconds: 0, cpuMicros: 0, blockRates: [] }));
  for (let block = 0; block < BLOCKS; block++) {
    const order = block % 2 === 0 ? targets.map((_, i) => i) : targets.map((_, i) => targets.length - 1 - i);
    for (const i of order) {
      const { seconds, cpuMicros } = await timed(perBlock, targets[i].run, concurrency);
      totals[i].seconds += seconds;
      totals[i].cpuMicros += cpuMicros;
      totals[i].blockRates.push(perBlock / seconds);
    }
  }
  const calls = perBlock * BLOCKS;
  const direct = totals[targets.findIndex((t) => t.id === 'direct')];
  return targets.map((target, i) => {
    const t = totals[i];
    const blockRatios = t.blockRates.map((rate, b) => rate / direct.blockRates[b]);
    return {
      id: target.id,
      label: target.label,
      perSecond: calls / t.seconds,
      cpuMicrosPerCall: t.cpuMicros / calls,
      ratio: median(blockRatios),
      ratioRange: [Math.min(...blockRatios), Math.max(...blockRatios)],
      ratioByCpu: direct.cpuMicros / t.cpuMicros,
    };
  });
}

export async function runPasskeyBench(count = Math.min(9000, Number(process.env.BENCH_PASSKEY_COUNT ?? 2000))) {
  console.log(`\nPasskey sign-in verification, ${count} per target and concurrency, ${BLOCKS} interleaved blocks (in process)`);
  const { authenticator, post, cookieOf, verifyDirectly, close } = await passkeyBenchSetup({ maxPendingPerIp: MAX_PENDING });
  const perLevel = count + 50;
  if (perLevel > MAX_PENDING) throw new Error(`BENCH_PASSKEY_COUNT=${count} needs more than ${MAX_PENDING} pending ceremonies per level`);

  const results = [];
  for (const [level, concurrency] of CONCURRENCY.entries()) {
    // Pre-made inputs: the options step and the authenticator's signing stay off the clock.
    const signIns = [];
    for (let i = 0; i < perLevel; i++) {
      const res = await post('/auth/passkeys/login/options', {}, undefined, `127.0.0.${level + 1}`);
      signIns.push({ cookie: cookieOf(res), response: authenticator.authenticate(await res.json()) });
    }
    const direct = [];
    const reference = [];
    for (const list of [direct, reference]) {
      for (let i = 0; i < perLevel; i++) {
        const options = await generateAuthenticationOptions({ rpID: 'localhost', allowCredentials: [], userVerification: 'required' });
        list.push({ challenge: options.challenge, response: authenticator.authenticate(options) });
      }
    }
    let nextSignIn = 0;
    let nextDirect = 0;
    let nextReference = 0;
    const targets = [
      {
        // (1) Through the handler: every verification is a full sign-in.
        id: 'handler',
        label: 'Gatehouse handler (login/verify)',
        async run() {
          const { cookie, response } = signIns[nextSignIn++];
          const res = await post('/auth/passkeys/login/verify', { response }, cookie);
          if (res.status !== 200) throw new Error(`verify failed: ${res.status} ${await res.text()}`);
        },
      },
      {
        // (2) The limit: the library's verification alone, same key, same concurrency.
        id: 'direct',
        label: 'verifyAuthenticationResponse',
        run: () => verifyDirectly(direct[nextDirect++]),
      },
      {
        // (3) Reference, no goal: the same Request handed to the handler for a path with no route
        // (a 404 JSON Response, body unread), then the direct call. What a Request and a Response
        // cost around the limit, which no handler taking a web Request can avoid.
        id: 'http-only',
        label: 'HTTP in/out only + direct (reference)',
        async run() {
          const item = reference[nextReference++];
          const res = await post('/auth/bench-no-such-route', { response: item.response });
          if (res.status !== 404) throw new Error(`reference route answered ${res.status}`);
          await verifyDirectly(item);
        },
      },
    ];
    const measured = await compare(targets, count, concurrency);
    for (const m of measured) {
      const ratio = m.id === 'direct' ? '' : `  ${m.ratio.toFixed(2)} x direct (blocks ${m.ratioRange[0].toFixed(2)}-${m.ratioRange[1].toFixed(2)}, by CPU ${m.ratioByCpu.toFixed(2)})`;
      console.log(`  ${`${m.label}, ${concurrency} in flight`.padEnd(52)} ${m.perSecond.toFixed(0).padStart(6)}/s  ${m.cpuMicrosPerCall.toFixed(0).padStart(5)} µs CPU${ratio}`);
    }
    const handler = measured.find((m) => m.id === 'handler');
    const limit = measured.find((m) => m.id === 'direct');
    const httpOnly = measured.find((m) => m.id === 'http-only');
    console.log(`  handler / direct at ${concurrency} in flight = ${handler.ratio.toFixed(2)} (goal >= 0.70: ${handler.ratio >= 0.7 ? 'meets goal' : 'BELOW GOAL'})`);
    results.push({
      concurrency,
      handlerPerSecond: handler.perSecond,
      directPerSecond: limit.perSecond,
      httpOnlyPerSecond: httpOnly.perSecond,
      ratio: handler.ratio,
      ratioRange: handler.ratioRange,
      ratioByCpu: handler.ratioByCpu,
      httpOnlyRatio: httpOnly.ratio,
      cpuMicrosPerCall: { handler: handler.cpuMicrosPerCall, direct: limit.cpuMicrosPerCall, httpOnly: httpOnly.cpuMicrosPerCall },
    });
  }
  await close();
  return { results, count, blocks: BLOCKS };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  runPasskeyBench().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
