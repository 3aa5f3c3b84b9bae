import { describe, expect, it } from 'vitest';
import { createGatehouse, ConfigurationError, type GatehouseOptions } from '../src/index.js';

const base: GatehouseOptions = { database: 'sqlite::memory:', origin: 'https://app.example.com' };

describe('configuration mistakes fail at startup with a message saying what to fix', () => {
  const cases: [string, Partial<GatehouseOptions> | Record<string, unknown>, RegExp][] = [
    ['plain-http origin', { origin: 'http://app.example.com' }, /must use https/],
    ['origin with a path', { origin: 'https://app.example.com/app' }, /no path/],
    ['origin that is not a URL', { origin: 'app.example.com' }, /not a URL/],
    ['idle longer than absolute', { session: { idleTimeoutSeconds: 100, absoluteLifetimeSeconds: 50 } }, /cannot exceed/],
    ['touch interval not shorter than idle', { session: { idleTimeoutSeconds: 60, touchIntervalSeconds: 60 } }, /must be shorter/],
    ['negative lifetime', { session: { absoluteLifetimeSeconds: -1 } }, /session\.absoluteLifetimeSeconds/],
    ['unknown option', { sesion: {} }, /sesion/],
    ['bad proxy', { trustedProxies: ['everyone'] }, /not an IP address or CIDR/],
    ['bad limit', { rateLimit: { limits: { session: { points: 0, durationSeconds: 60 } } } }, /rateLimit\.limits\.session\.points/],
    ['bad authz', { authz: { roles: [] } }, /defineAuthz/],
    ['missing database', { database: '' }, /database is required/],
    ['bad base path', { basePath: 'auth' }, /basePath/],
    ['passkey RP ID that covers no origin', { passkeys: { rpId: 'example.org' } }, /covers none of the origins/],
    ['passkey origin outside the RP ID', { passkeys: { rpId: 'example.com', origins: ['https://evil.test'] } }, /does not cover origin https:\/\/evil\.test/],
    ['unsupported database URL', { database: 'mysql://db/app' }, /not supported\. Use sqlite:/],
    ['sqlite URL without a path', { database: 'sqlite:' }, /needs a file path/],
  ];
  it.each(cases)('%s', (_name, override, message) => {
    const make = () => createGatehouse({ ...base, ...override } as GatehouseOptions);
    expect(make).toThrow(ConfigurationError);
    expect(make).toThrow(message);
  });

  it('accepts http://localhost for development', () => {
    expect(() => createGatehouse({ ...base, origin: 'http://localhost:3000' })).not.toThrow();
  });
});
