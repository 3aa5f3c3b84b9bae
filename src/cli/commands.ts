import { parseArgs } from 'node:util';
import type { Gatehouse } from '../gatehouse.js';
import { migrate, pendingMigrations } from '../storage/migrate.js';
import type { UserRecord } from '../storage/contract.js';
import { AUTH_EVENT_TYPES } from '../audit/audit-log.js';
import { SYSTEM_ACTOR } from '../users/users.js';
import { loadCliConfig, table, UsageError, withGatehouse } from './context.js';
import { jwtCommands } from './jwt-commands.js';

export interface Command {
  name: string;
  summary: string;
  usage: string;
  options: Record<string, { type: 'string' | 'boolean'; description: string }>;
  /** Accepts positional arguments (e.g. `gatehouse audit src`); others refuse them. */
  positionals?: boolean;
  /** Resolves to the exit code, or to nothing for 0. */
  run(values: Record<string, string | boolean | undefined>, positionals: string[]): Promise<void | number>;
}

const common = {
  'database-url': { type: 'string', description: 'Database URL (default: $DATABASE_URL or sqlite:./data/gatehouse.db)' },
  config: { type: 'string', description: 'Config module exporting { authz, databaseUrl, redis, jwt } (default: ./gatehouse.config.js, .mjs, .ts or .mts if present)' },
} as const;

const email = { email: { type: 'string', description: 'The account\'s email address' } } as const;

function str(values: Record<string, string | boolean | undefined>, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

function required(values: Record<string, string | boolean | undefined>, name: string): string {
  const v = str(values, name);
  if (v === undefined || v === '') throw new UsageError(`--${name} is required.`);
  return v;
}

async function userByEmail(auth: Gatehouse, address: string): Promise<UserRecord> {
  const user = await (await auth.storage()).findUserByEmail(address);
  if (user === null) throw new UsageError(`No account with email ${address}. See them with: gatehouse users list`);
  return user;
}

/** `revokes`: the command ends sessions or changes accounts, so JWT-mode servers must hear of it. */
function config(values: Record<string, string | boolean | undefined>, { revokes = false }: { revokes?: boolean } = {}) {
  return loadCliConfig({ 'database-url': str(values, 'database-url'), config: str(values, 'config') }, { revokes });
}

const JWT_COMMANDS: Command[] = jwtCommands({ common, config });

export const COMMANDS: Command[] = [
  {
    name: 'migrate',
    summary: 'Apply pending database migrations (or show them with --status)',
    usage: 'gatehouse migrate [--status] [--database-url URL]',
    options: { ...common, status: { type: 'boolean', description: 'List pending migrations without applying them' } },
    async run(values) {
      await withGatehouse(await config(values), async (_auth, database) => {
        if (values.status === true) {
          const pending = await pendingMigrations(database);
          console.log(pending.length === 0 ? `${database.description}: up to date` : `${database.description}: pending ${pending.join(', ')}`);
          return;
        }
        console.log(`Migrating ${database.description} ...`);
        const { applied } = await migrate(database, { onApplied: (name) => console.log(`  applied ${name}`) });
        console.log(applied.length === 0 ? 'Already up to date.' : `Done: ${applied.length} migration(s) applied.`);
      });
    },
  },
  {
    name: 'users list',
    summary: 'List accounts',
    usage: 'gatehouse users list [--search TEXT] [--limit N] [--json]',
    options: {
      ...common,
      search: { type: 'string', description: 'Only emails or names containing TEXT' },
      limit: { type: 'string', description: 'At most N rows (default 100)' },
      json: { type: 'boolean', description: 'Print JSON' },
    },
    async run(values) {
      const limit = Number(str(values, 'limit') ?? 100);
      if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new UsageError('--limit must be a whole number from 1 to 10000.');
      await withGatehouse(await config(values), async (auth) => {
        const users = await (await auth.storage()).listUsers({ limit, search: str(values, 'search') });
        const rows = users.map((u) => ({ ...u, createdAt: new Date(u.createdAt).toISOString(), updatedAt: new Date(u.updatedAt).toISOString() }));
        console.log(values.json === true ? JSON.stringify(rows, null, 2) : table(rows, ['id', 'email', 'name', 'role', 'disabled', 'createdAt']));
      });
    },
  },
  {
    name: 'users create',
    summary: "Create an account (no passkey or provider: it signs in only through your app's createSession code)",
    usage: 'gatehouse users create --email E [--name N] [--role R]',
    options: { ...common, ...email, name: { type: 'string', description: 'Display name' }, role: { type: 'string', description: 'Role (default: the lowest role)' } },
    async run(values) {
      await withGatehouse(await config(values), async (auth) => {
        const user = await auth.users.create({ email: required(values, 'email'), name: str(values, 'name'), role: str(values, 'role') });
        console.log(`Created ${user.email} (${user.role}), id ${user.id}`);
      });
    },
  },
  {
    name: 'users set-role',
    summary: "Change an account's role (raising it also ends their sessions)",
    usage: 'gatehouse users set-role --email E --role R',
    options: { ...common, ...email, role: { type: 'string', description: 'The new role' } },
    async run(values) {
      await withGatehouse(await config(values, { revokes: true }), async (auth) => {
        const user = await userByEmail(auth, required(values, 'email'));
        const updated = await auth.users.setRole(user.id, required(values, 'role'), SYSTEM_ACTOR);
        console.log(`${updated.email}: role ${user.role} -> ${updated.role}`);
      });
    },
  },
  ...(['disable', 'enable'] as const).map(
    (verb): Command => ({
      name: `users ${verb}`,
      summary: verb === 'disable' ? 'Disable an account and end all its sessions' : 'Enable a disabled account',
      usage: `gatehouse users ${verb} --email E`,
      options: { ...common, ...email },
      async run(values) {
        await withGatehouse(await config(values, { revokes: true }), async (auth) => {
          const user = await userByEmail(auth, required(values, 'email'));
          await auth.users.setDisabled(user.id, verb === 'disable', SYSTEM_ACTOR);
          console.log(`${user.email}: ${verb}d`);
        });
      },
    }),
  ),
  {
    name: 'sessions revoke',
    summary: 'End every session of an account, on every instance, at once',
    usage: 'gatehouse sessions revoke --email E',
    options: { ...common, ...email },
    async run(values) {
      await withGatehouse(await config(values, { revokes: true }), async (auth) => {
        const user = await userByEmail(auth, required(values, 'email'));
        const count = await auth.users.revokeSessions(user.id, SYSTEM_ACTOR);
        console.log(`${user.email}: ended ${count} session(s)`);
      });
    },
  },
  ...JWT_COMMANDS,
  {
    name: 'events',
    summary: 'Show the audit log, newest first',
    usage: 'gatehouse events [--email E] [--type T] [--limit N] [--json]',
    options: {
      ...common,
      ...email,
      type: { type: 'string', description: `Only this event type: ${AUTH_EVENT_TYPES.join(', ')}` },
      limit: { type: 'string', description: 'At most N events (default 50)' },
      json: { type: 'boolean', description: 'Print JSON' },
    },
    async run(values) {
      const limit = Number(str(values, 'limit') ?? 50);
      if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new UsageError('--limit must be a whole number from 1 to 10000.');
      const type = str(values, 'type');
      if (type !== undefined && !(AUTH_EVENT_TYPES as readonly string[]).includes(type)) {
        throw new UsageError(`--type must be one of: ${AUTH_EVENT_TYPES.join(', ')}`);
      }
      await withGatehouse(await config(values), async (auth) => {
        const address = str(values, 'email');
        const userId = address === undefined ? undefined : (await userByEmail(auth, address)).id;
        const events = await (await auth.storage()).listEvents({ limit, userId, type });
        const rows = events.map((e) => ({ ...e, createdAt: new Date(e.createdAt).toISOString() }));
        if (values.json === true) {
          console.log(JSON.stringify(rows, null, 2));
          return;
        }
        const printable = rows.map((e) => ({ ...e, data: e.data ? JSON.stringify(e.data) : '' }));
        console.log(table(printable, ['id', 'createdAt', 'type', 'userId', 'actorId', 'ip', 'data']));
      });
    },
  },
  {
    name: 'dev-idp',
    summary: 'Run a local OpenID Provider with test users, for offline OAuth/OIDC development (needs oidc-provider)',
    usage: 'gatehouse dev-idp [--port 9000] [--host 127.0.0.1] [--client-id ID] [--client-secret S] [--redirect-uri URI ...]',
    options: {
      port: { type: 'string', description: 'Port to listen on (default 9000; 0 picks a free one)' },
      host: { type: 'string', description: 'Address to listen on (default 127.0.0.1)' },
      'client-id': { type: 'string', description: 'The client id to register (default gatehouse-demo)' },
      'client-secret': { type: 'string', description: 'Make the client confidential with this secret (default: public client, PKCE only)' },
      'redirect-uri': { type: 'string', description: 'Allowed redirect URI; repeat or comma-separate for several (default http://localhost:3000/auth/oauth/dev/callback)' },
    },
    async run(values) {
      await (await import('../dev-idp/cli.js')).runDevIdpCommand(values, process.argv.slice(2));
    },
  },
  {
    name: 'audit',
    summary: 'Find auth mistakes in any JS/TS codebase (tokens in localStorage, long-lived JWTs, ...) or in a running site (--url)',
    usage: 'gatehouse audit [path ...] [--format text|json|sarif] [--fail-on high|medium|low|none] [--exclude P] | --url https://app.example [--cookie C]',
    positionals: true,
    options: {
      format: { type: 'string', description: 'text (default), json, or sarif (SARIF 2.1.0 for GitHub code scanning)' },
      'fail-on': { type: 'string', description: 'Exit 1 when a finding has this severity or higher: high (default), medium, low, none' },
      exclude: { type: 'string', description: 'Skip these files or folders (repeat or comma-separate); node_modules and build output are always skipped' },
      output: { type: 'string', description: 'Write the report to this file instead of standard output' },
      url: { type: 'string', description: 'Audit a running site instead (passive checks, at most 30 requests, only to this origin)' },
      cookie: { type: 'string', description: 'With --url: a Cookie header (e.g. a session) to check authenticated responses too' },
    },
    async run(values, positionals) {
      return (await import('../code-audit/cli.js')).runAuditCommand(values, positionals, process.argv.slice(2));
    },
  },
];

export function parseCommand(command: Command, argv: string[]): Record<string, string | boolean | undefined> {
  return parseCommandLine(command, argv).values;
}

/** Options and, for commands that declare `positionals`, the positional arguments. */
export function parseCommandLine(command: Command, argv: string[]): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  const options: Record<string, { type: 'string' | 'boolean' }> = { help: { type: 'boolean' } };
  for (const [name, o] of Object.entries(command.options)) options[name] = { type: o.type };
  try {
    const { values, positionals } = parseArgs({ args: argv, options, strict: true, allowPositionals: command.positionals === true });
    return { values, positionals };
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message.replace(/^.*?: /, '') : String(error));
  }
}
