import type { Command } from './commands.js';
import { table, UsageError, withGatehouse, type CliConfig } from './context.js';

const NOT_JWT =
  'JWT mode is off for this command: set GATEHOUSE_SESSION_STRATEGY=jwt and GATEHOUSE_JWT_SECRET (the same secret as the app), or `jwt: { secret }` in your gatehouse.config file (.js, .mjs, .ts or .mts).';

type Values = Record<string, string | boolean | undefined>;

/** `gatehouse keys ...`: JWT signing keys (docs/jwt.md, docs/cli.md). */
export function jwtCommands(deps: { common: Command['options']; config: (values: Values) => Promise<CliConfig> }): Command[] {
  return [
    {
      name: 'keys rotate',
      summary: 'JWT mode: create a new signing key that signs at once; older keys verify until their last tokens expired, then retire',
      usage: 'gatehouse keys rotate [--database-url URL]  (needs GATEHOUSE_SESSION_STRATEGY=jwt and GATEHOUSE_JWT_SECRET)',
      options: { ...deps.common },
      async run(values) {
        await withGatehouse(await deps.config(values), async (auth) => {
          if (auth.jwt === undefined) throw new UsageError(NOT_JWT);
          const { kid, superseded } = await auth.jwt.rotateKeys();
          const retireMinutes = Math.ceil(auth.jwt.settings.keyRetireAfterMs / 60_000);
          console.log(`New signing key ${kid} (${auth.jwt.settings.algorithm}) signs from now on.`);
          console.log(
            superseded.length === 0
              ? 'No older key was signing.'
              : `Retiring ${superseded.join(', ')}: they keep verifying for ${retireMinutes} minutes (running instances pick the new key up within ${auth.jwt.settings.keyReloadMs / 1000} s, their last tokens then expire), then leave the JWKS.`,
          );
        });
      },
    },
    {
      name: 'keys list',
      summary: 'JWT mode: list the signing keys that still verify (public data only)',
      usage: 'gatehouse keys list [--json]',
      options: { ...deps.common, json: { type: 'boolean', description: 'Print JSON' } },
      async run(values) {
        await withGatehouse(await deps.config(values), async (auth) => {
          if (auth.jwt === undefined) throw new UsageError(NOT_JWT);
          const iso = (ms: number | null) => (ms === null ? '' : new Date(ms).toISOString());
          const keys = await (await auth.storage()).listSigningKeys(Date.now());
          const rows = keys.map((k, i) => ({
            kid: k.kid,
            alg: k.alg,
            status: k.supersededAt === null && keys.findIndex((x) => x.supersededAt === null) === i ? 'signing' : 'verifying',
            createdAt: iso(k.createdAt),
            retiresAt: iso(k.retiresAt),
          }));
          console.log(values.json === true ? JSON.stringify(rows, null, 2) : table(rows, ['kid', 'alg', 'status', 'createdAt', 'retiresAt']));
        });
      },
    },
  ];
}
