// The load generator: autocannon, in this (parent) process, with the same settings for every
// target. Requests cycle through the pool of session cookies so lookups touch many rows.
import autocannon from 'autocannon';
import { progress } from './config.mjs';

/** Shuffled once per run so consecutive requests hit rows far apart in the table. */
export function shuffled(items) {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** Runs autocannon for `duration` seconds, printing a progress line as it goes. */
export function runLoad({ url, cookies, connections, duration, phase }) {
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url,
        connections,
        duration,
        // Static requests are built once per connection, so cycling costs the generator nothing.
        requests: cookies.map((cookie) => ({ method: 'GET', path: '/', headers: { cookie } })),
      },
      (error, result) => (error ? reject(error) : resolve(result)),
    );
    let second = 0;
    let total = 0;
    const every = duration > 20 ? 5 : duration > 6 ? 2 : 1;
    instance.on('tick', ({ counter }) => {
      second += 1;
      total += counter;
      if (second % every === 0 && second < duration) {
        progress(`    ${phase} ${second}/${duration}s  ${counter.toLocaleString('en')} req in the last second, ${total.toLocaleString('en')} so far`);
      }
    });
  });
}

/** The figures the report uses, from an autocannon result. */
export function summarize(result) {
  return {
    reqPerSec: result.requests.average,
    reqPerSecStddev: result.requests.stddev,
    requests: result.requests.total,
    latencyP50: result.latency.p50,
    latencyP99: result.latency.p99,
    latencyAvg: result.latency.average,
    latencyMax: result.latency.max,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    durationSeconds: result.duration,
  };
}
