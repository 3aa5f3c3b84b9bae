#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { AuthError, ConfigurationError } from '../errors.js';
import { COMMANDS, parseCommandLine, type Command } from './commands.js';
import { UsageError } from './context.js';
import { NotMigratedError } from '../storage/sql-errors.js';

function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'Usage: gatehouse <command> [options]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Run "gatehouse <command> --help" for the options of a command, "gatehouse --version" for the version.',
    'The database comes from --database-url, $DATABASE_URL, the config file (gatehouse.config.js, .mjs, .ts or .mts), or sqlite:./data/gatehouse.db.',
    'Set $REDIS_URL to the Redis your servers use, so they see revocations made here at once.',
    'JWT-mode servers: also GATEHOUSE_SESSION_STRATEGY=jwt and GATEHOUSE_JWT_SECRET (and GATEHOUSE_JWT_CHANNEL if they set jwt.channel).',
  ].join('\n');
}

function help(command: Command): string {
  const width = Math.max(...Object.keys(command.options).map((n) => n.length + 2));
  return [
    `Usage: ${command.usage}`,
    '',
    command.summary,
    '',
    'Options:',
    ...Object.entries(command.options).map(([name, o]) => `  --${name.padEnd(width)}  ${o.description}`),
    `  --${'help'.padEnd(width)}  Show this help`,
  ].join('\n');
}

function find(argv: string[]): { command: Command; rest: string[] } | undefined {
  for (const command of COMMANDS) {
    const words = command.name.split(' ');
    if (words.every((w, i) => argv[i] === w)) return { command, rest: argv.slice(words.length) };
  }
  return undefined;
}

/** The installed package's version (package.json sits two folders above dist/src/cli). */
function version(): string {
  try {
    const manifest = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof manifest.version === 'string' ? manifest.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

async function main(argv: string[]): Promise<number> {
  if (argv[0] === '--version' || argv[0] === '-v') {
    console.log(`gatehouse ${version()}`);
    return 0;
  }
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    console.log(overview());
    return argv.length === 0 ? 2 : 0;
  }
  const found = find(argv);
  if (found === undefined) {
    const group = COMMANDS.filter((c) => c.name.startsWith(`${argv[0]} `));
    if (group.length > 0 && (argv.length === 1 || argv[1] === '--help')) {
      const width = Math.max(...group.map((c) => c.name.length));
      console.log([`Commands under "${argv[0]}":`, ...group.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`)].join('\n'));
      return argv[1] === '--help' ? 0 : 2;
    }
    // Only the words, never option values: an option put before the command may be a database URL with a password.
    const words = argv.filter((word, i) => !word.startsWith('-') && !(argv[i - 1]?.startsWith('--') && !argv[i - 1]!.includes('=')));
    const named = words.length > 0 ? `"${words.join(' ')}"` : '(options only)';
    console.error(`gatehouse: unknown command ${named}. Options go after the command, e.g. gatehouse users list --database-url URL.\n\n${overview()}`);
    return 2;
  }
  const { command, rest } = found;
  try {
    const { values, positionals } = parseCommandLine(command, rest);
    if (values.help === true) {
      console.log(help(command));
      return 0;
    }
    return (await command.run(values, positionals)) ?? 0;
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`gatehouse ${command.name}: ${error.message}\nUsage: ${command.usage}  (see --help)`);
      return 2;
    }
    // A database that was never migrated: "try again shortly" would be the wrong advice.
    if (error instanceof AuthError && error.cause instanceof NotMigratedError) {
      console.error(`gatehouse ${command.name}: ${error.cause.message}`);
      return 1;
    }
    if (error instanceof AuthError || error instanceof ConfigurationError) {
      const cause = error.cause instanceof Error ? ` (${error.cause.message})` : '';
      console.error(`gatehouse ${command.name}: ${error.message}${cause}`);
      return 1;
    }
    console.error(`gatehouse ${command.name}: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
