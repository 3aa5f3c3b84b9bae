import { afterEach, describe, expect, it, vi } from 'vitest';
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
    // RATE-03: a catch-all would let every client pick its own IP through X-Forwarded-For.
    ['catch-all proxy (IPv4)', { trustedProxies: ['0.0.0.0/0'] }, /too wide \(\/0\).*escape every rate limit/],
    ['catch-all proxy (IPv6)', { trustedProxies: ['::/0'] }, /too wide/],
    ['proxy prefix out of range', { trustedProxies: ['10.0.0.0/40'] }, /not an IP address or CIDR/],
    ['proxy that is not an address', { trustedProxies: ['999.1.1.1'] }, /not an IP address or CIDR/],
    ['jwt options without JWT mode', { jwt: { secret: 'short' } }, /session\.strategy is not 'jwt'/],
    ['passkey RP ID that is a top-level domain', { origin: 'https://com', passkeys: { rpId: 'com' } }, /top-level domain/],
    ['origin with a default port', { origin: 'https://app.example.com:443' }, /Use https:\/\/app\.example\.com$/],
    ['bad limit', { rateLimit: { limits: { session: { points: 0, durationSeconds: 60 } } } }, /rateLimit\.limits\.session\.points/],
    ['bad authz', { authz: { roles: [] } }, /defineAuthz/],
    ['missing database', { database: '' }, /database is required/],
    ['bad base path', { basePath: 'auth' }, /basePath/],
    ['passkey RP ID that covers no origin', { passkeys: { rpId: 'example.org' } }, /covers none of the origins/],
    ['the replaced allowCrossOrigin', { passkeys: { allowCrossOrigin: true } }, /passkeys\.allowCrossOrigin was replaced by passkeys\.topOrigins: list the exact origins/],
    ['a top origin that is not an exact origin', { passkeys: { topOrigins: ['https://portal.example.com/app'] } }, /no path/],
    ['passkey origin outside the RP ID', { passkeys: { rpId: 'example.com', origins: ['https://evil.test'] } }, /does not cover origin https:\/\/evil\.test/],
    ['unsupported database URL', { database: 'mysql://db/app' }, /not supported\. Use sqlite:/],
    ['sqlite URL without a path', { database: 'sqlite:' }, /needs a file path/],
    // "sqlite://./data/app.db" reads as the absolute path /data/app.db: refused, with the fix.
    ['sqlite URL with slashes', { database: 'sqlite://./data/app.db' }, /ambiguous\..*sqlite:\.\/data\/app\.db/],
    ['sqlite://:memory:', { database: 'sqlite://:memory:' }, /ambiguous\..*: sqlite::memory: /],
    ['unsupported URL, password hidden', { database: 'mysql://u:p@ss@db/app' }, /"mysql:\/\/u:\*\*\*@db\/app" is not supported/],
    ['unsupported URL quoted as given', { database: 'file:./data/app.db' }, /"file:\.\/data\/app\.db" is not supported/],
    ['a Redis URL with another scheme', { rateLimit: { redis: 'https://127.0.0.1:6379' } }, /rateLimit\.redis "https:\/\/127\.0\.0\.1:6379" is not a Redis URL: write redis:\/\/host:6379/],
    ['a Redis "URL" that is a host name, password hidden', { rateLimit: { redis: 'http://:pw@cache:6379' } }, /"http:\/\/\*\*\*@cache:6379" is not a Redis URL/],
    ['a Redis URL with another scheme, for JWT mode', { session: { strategy: 'jwt' }, jwt: { secret: 'x'.repeat(40), redis: 'tcp://cache:6379' } }, /jwt\.redis "tcp:\/\/cache:6379" is not a Redis URL/],
    ['no database at all', { database: undefined }, /database is required: pass/],
    ['origin without a scheme', { origin: 'localhost:3000' }, /use http:\/\/localhost:3000$/],
    ['origin with another scheme', { origin: 'ftp://app.example.com' }, /use https:\/\/app\.example\.com$/],
    ['origin as a bare host', { origin: 'app.example.com' }, /e\.g\. https:\/\/app\.example\.com$/],
    ['origin as a URL object', { origin: new URL('https://app.example.com') }, /origin: must be your site's origin as a string/],
  ];
  it.each(cases)('%s', (_name, override, message) => {
    const make = () => createGatehouse({ ...base, ...override } as GatehouseOptions);
    expect(make).toThrow(ConfigurationError);
    expect(make).toThrow(message);
  });

  it('accepts real proxy ranges: 10.0.0.0/8, fd00::/8, single addresses', () => {
    expect(() => createGatehouse({ ...base, trustedProxies: ['10.0.0.0/8', 'fd00::/8', '192.0.2.7', '2001:db8::1'] })).not.toThrow();
  });

  it('accepts the SQLite URL spellings that are not ambiguous', async () => {
    const { databaseKind } = await import('../src/storage/database.js');
    for (const url of ['sqlite::memory:', 'sqlite:./data/app.db', 'sqlite:app.db', 'sqlite:/srv/app.db', 'sqlite:///srv/app.db']) expect(databaseKind(url), url).toBe('sqlite');
  });

  it('accepts every Redis form ioredis takes: redis:// and rediss:// URLs, host:port, //host:port, a socket path; and allowCrossOrigin: false', () => {
    for (const redis of ['redis://127.0.0.1:6379/9', 'REDISS://cache:6380', '127.0.0.1:6379', 'localhost:6379', '//127.0.0.1:6379/9', '/var/run/redis/redis.sock']) {
      const auth = createGatehouse({ ...base, rateLimit: { redis } });
      expect(auth.config.origins, redis).toEqual(['https://app.example.com']);
      void auth.close();
    }
    expect(() => createGatehouse({ ...base, passkeys: { allowCrossOrigin: false } })).not.toThrow();
  });

  it('accepts http://localhost for development', () => {
    expect(() => createGatehouse({ ...base, origin: 'http://localhost:3000' })).not.toThrow();
  });

  describe('a local origin under NODE_ENV=production', () => {
    afterEach(() => {
      vi.unstubAllEnvs();
    });
    const warningsFor = (env: string, origin: string | string[]) => {
      vi.stubEnv('NODE_ENV', env);
      const warnings: string[] = [];
      createGatehouse({ ...base, origin, logger: { warn: (message) => warnings.push(message), error() {} } });
      return warnings;
    };

    it('is started, with a warning naming the origin and the fix', () => {
      const warnings = warningsFor('production', ['https://app.example.com', 'http://localhost:3000']);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/^origin http:\/\/localhost:3000 is a local development origin but NODE_ENV is production\..*set origin to the site's https origin/);
    });

    it('gives no warning in development, or in production with real origins only', () => {
      expect(warningsFor('development', 'http://localhost:3000')).toEqual([]);
      expect(warningsFor('production', 'https://app.example.com')).toEqual([]);
    });
  });
});
