import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { GatehouseClientError, signInWithPasskey } from '../src/client/index.js';

/**
 * gatehouse/client's autofill renewal against a scripted browser: `navigator.credentials.get`
 * waits until the test answers it (or its signal aborts, as a browser does), and `fetch` serves
 * the options and verify calls, holding the options when a test needs them in flight. Fake
 * timers stand in for the minutes a sign-in page stays open.
 */

interface Get {
  mediation: string | undefined;
  signal: AbortSignal;
  settled: boolean;
  pick(): void;
}

const gets: Get[] = [];
const fetched: string[] = [];
const verified: string[] = [];
let hold: { release(): void } | undefined;
let holdNextOptions = false;
let credentialIds = 0;
let optionsTimeout: number | undefined = 300_000;
/** The stubbed `document`: its visibility is what the tests change. */
let page: EventTarget & { visibilityState: string };

function credential(id: string) {
  const buffer = () => new Uint8Array([1, 2, 3]).buffer;
  return {
    id,
    rawId: buffer(),
    type: 'public-key',
    authenticatorAttachment: 'platform',
    response: { authenticatorData: buffer(), clientDataJSON: buffer(), signature: buffer(), userHandle: null },
    getClientExtensionResults: () => ({}),
  };
}

const json = (body: unknown) => new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } });

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
  gets.length = 0;
  fetched.length = 0;
  verified.length = 0;
  hold = undefined;
  holdNextOptions = false;
  credentialIds = 0;
  optionsTimeout = 300_000;
  function PublicKeyCredential() {}
  PublicKeyCredential.isConditionalMediationAvailable = () => Promise.resolve(true);
  vi.stubGlobal('PublicKeyCredential', PublicKeyCredential);
  page = Object.assign(new EventTarget(), { visibilityState: 'visible', querySelectorAll: () => [{}] });
  vi.stubGlobal('document', page);
  vi.stubGlobal('navigator', {
    credentials: {
      get: (options: { mediation?: string; signal: AbortSignal }) =>
        new Promise((resolve, reject) => {
          const id = `credential-${++credentialIds}`;
          const entry: Get = {
            mediation: options.mediation,
            signal: options.signal,
            settled: false,
            pick: () => {
              if (entry.settled) return;
              entry.settled = true;
              resolve(credential(id));
            },
          };
          options.signal.addEventListener('abort', () => {
            if (entry.settled) return;
            entry.settled = true;
            reject(options.signal.reason);
          });
          gets.push(entry);
        }),
    },
  });
  vi.stubGlobal('fetch', async (input: string, init: RequestInit) => {
    const url = String(input);
    fetched.push(url);
    if (url.endsWith('/passkeys/login/options')) {
      if (holdNextOptions) {
        holdNextOptions = false;
        await new Promise<void>((resolve, reject) => {
          hold = { release: resolve };
          init.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')));
        });
      }
      return json({ challenge: `challenge-${fetched.length}`, timeout: optionsTimeout, rpId: 'localhost', allowCredentials: [], userVerification: 'required' });
    }
    if (url.endsWith('/passkeys/login/verify')) {
      verified.push((JSON.parse(String(init.body)) as { response: { id: string } }).response.id);
      return json({ user: { id: 'u1', email: 'ada@example.com', name: 'Ada', role: 'member' }, session: { id: 's1', createdAt: 'now', expiresAt: 'later' } });
    }
    return new Response('{}', { status: 404 });
  });
});

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

/** Lets the promise chains (fetch, SimpleWebAuthn, our awaits) run. */
const settle = async () => {
  for (let i = 0; i < 50; i++) await Promise.resolve();
};
const optionsFetches = () => fetched.filter((u) => u.endsWith('/login/options')).length;
/** The call's error, or null when it resolved. */
const outcomeOf = (call: Promise<unknown>) =>
  call.then(
    () => null,
    (e: unknown) => e,
  );
/** The renewal's options and request are the second ones; picking from it signs in, and no timer is left. */
async function pickFromRenewed(signIn: Promise<unknown>): Promise<void> {
  expect(optionsFetches()).toBe(2);
  expect(gets).toHaveLength(2);
  gets[1]!.pick();
  await expect(signIn).resolves.toMatchObject({ user: { id: 'u1' } });
  expect(vi.getTimerCount()).toBe(0);
}

describe('autofill renewal races', () => {
  it('renews 30 s before the challenge expires, with new options and a new conditional request', async () => {
    const signIn = signInWithPasskey({ autofill: true });
    await settle();
    expect(optionsFetches()).toBe(1);
    expect(gets).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(270_000);
    await settle();
    expect(optionsFetches()).toBe(2);
    expect(gets).toHaveLength(2);
    expect(gets[0]!.settled).toBe(true);
    gets[1]!.pick();
    await expect(signIn).resolves.toMatchObject({ user: { id: 'u1' } });
    expect(verified).toEqual(['credential-2']);
    expect(vi.getTimerCount()).toBe(0); // no renewal timer left behind
  });

  it("renews after the computer slept: its timers stood still, the wall clock (and the server's) did not", async () => {
    const signIn = signInWithPasskey({ autofill: true });
    signIn.catch(() => {});
    await settle();
    await vi.advanceTimersByTimeAsync(60_000);
    // The lid closes for an hour: Date moves on, no timer runs meanwhile.
    vi.setSystemTime(Date.now() + 60 * 60_000);
    // Awake for 10 s: renewed before the user can click the field and pick a passkey.
    await vi.advanceTimersByTimeAsync(10_000);
    await settle();
    await pickFromRenewed(signIn);
  });

  it("a server's huge timeout (past setTimeout's 24.8 days) does not renew at once, in a loop", async () => {
    optionsTimeout = 30 * 24 * 3_600_000; // 30 days
    const signIn = signInWithPasskey({ autofill: true });
    signIn.catch(() => {});
    await settle();
    await vi.advanceTimersByTimeAsync(60_000);
    await settle();
    expect(optionsFetches()).toBe(1);
  });

  it('a passkey picked as the renewal starts is used, not dropped for new options', async () => {
    const signIn = signInWithPasskey({ autofill: true });
    signIn.catch(() => {});
    await settle();
    // The user's pick and the renewal timer land in the same moment.
    gets[0]!.pick();
    vi.advanceTimersByTime(270_000);
    await settle();
    await vi.advanceTimersByTimeAsync(0);
    expect(verified).toEqual(['credential-1']);
    await expect(signIn).resolves.toMatchObject({ user: { id: 'u1' } });
    expect(optionsFetches()).toBe(1);
  });

  it('ends the waiting request before it asks for new options: nothing picked meanwhile is lost', async () => {
    const signIn = signInWithPasskey({ autofill: true });
    signIn.catch(() => {});
    await settle();
    holdNextOptions = true;
    await vi.advanceTimersByTimeAsync(270_000);
    await settle();
    expect(optionsFetches()).toBe(2); // the renewal's options are in flight
    // The browser no longer offers the old request: its challenge is about to be replaced.
    expect(gets[0]!.signal.aborted).toBe(true);
    hold!.release();
    await settle();
    expect(gets).toHaveLength(2);
  });

  it('the renewal options failing (offline after a sleep) end the old request, show no error, and are asked for again', async () => {
    const signIn = signInWithPasskey({ autofill: true });
    const outcome = outcomeOf(signIn)
    await settle();
    const online = globalThis.fetch;
    vi.stubGlobal('fetch', () => Promise.reject(new TypeError('Failed to fetch')));
    await vi.advanceTimersByTimeAsync(270_000);
    await settle();
    // No request left offering passkeys for a challenge about to expire, and no error for an idle page.
    expect(gets[0]!.signal.aborted).toBe(true);
    expect(gets).toHaveLength(1);
    vi.stubGlobal('fetch', online);
    await vi.advanceTimersByTimeAsync(15_000);
    await settle();
    expect(gets).toHaveLength(2);
    gets[1]!.pick();
    expect(await outcome).toBeNull();
    await expect(signIn).resolves.toMatchObject({ user: { id: 'u1' } });
  });

  it('a rate-limited renewal waits for Retry-After; a refusal that will not pass ends the call with its code', async () => {
    const signIn = signInWithPasskey({ autofill: true });
    const outcome = outcomeOf(signIn)
    await settle();
    const served = globalThis.fetch;
    const refuse = (status: number, code: string, headers: Record<string, string> = {}) => () =>
      Promise.resolve(new Response(JSON.stringify({ error: { code, message: code } }), { status, headers: { 'content-type': 'application/json', ...headers } }));
    vi.stubGlobal('fetch', refuse(429, 'RATE_LIMITED', { 'retry-after': '60' }));
    await vi.advanceTimersByTimeAsync(270_000);
    await settle();
    vi.stubGlobal('fetch', served);
    await vi.advanceTimersByTimeAsync(59_000);
    await settle();
    expect(gets).toHaveLength(1); // still waiting out the minute
    await vi.advanceTimersByTimeAsync(1_000);
    await settle();
    expect(gets).toHaveLength(2);
    vi.stubGlobal('fetch', refuse(400, 'VALIDATION_FAILED'));
    await vi.advanceTimersByTimeAsync(270_000);
    await settle();
    expect(await outcome).toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a hidden tab is not renewed (its pending ceremony expires on the server); it renews when shown again', async () => {
    const signIn = signInWithPasskey({ autofill: true });
    signIn.catch(() => {});
    await settle();
    page.visibilityState = 'hidden';
    page.dispatchEvent(new Event('visibilitychange'));
    await vi.advanceTimersByTimeAsync(270_000);
    await settle();
    expect(gets[0]!.signal.aborted).toBe(true);
    // An hour in the background: no options asked for, nothing kept alive.
    await vi.advanceTimersByTimeAsync(60 * 60_000);
    await settle();
    expect(optionsFetches()).toBe(1);
    page.visibilityState = 'visible';
    page.dispatchEvent(new Event('visibilitychange'));
    await settle();
    await vi.advanceTimersByTimeAsync(0);
    await pickFromRenewed(signIn);
  });

  it('a button ceremony started while the renewal fetches options is not aborted by the renewed autofill request', async () => {
    const autofill = signInWithPasskey({ autofill: true });
    const autofillOutcome = outcomeOf(autofill)
    await settle();
    holdNextOptions = true;
    await vi.advanceTimersByTimeAsync(270_000);
    await settle();
    // The user clicks the passkey button (no signal: "a later button call ends it").
    const button = signInWithPasskey();
    button.catch(() => {});
    await settle();
    const modal = gets.at(-1)!;
    expect(modal.mediation).toBeUndefined();
    hold!.release(); // the renewal's options arrive after the modal has started
    await settle();
    expect(modal.signal.aborted).toBe(false);
    modal.pick();
    await expect(button).resolves.toMatchObject({ user: { id: 'u1' } });
    const error = await autofillOutcome;
    expect(error).toBeInstanceOf(GatehouseClientError);
    expect(error).toMatchObject({ code: 'CANCELLED' });
    expect(vi.getTimerCount()).toBe(0);
  });

  it("the page's signal during the renewal's options fetch: CANCELLED, no request and no timer left", async () => {
    const abort = new AbortController();
    const outcome = outcomeOf(signInWithPasskey({ autofill: true, signal: abort.signal }))
    await settle();
    holdNextOptions = true;
    await vi.advanceTimersByTimeAsync(270_000);
    await settle();
    abort.abort();
    expect(await outcome).toMatchObject({ code: 'CANCELLED' });
    expect(gets).toHaveLength(1);
    expect(gets[0]!.settled).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });
});
