import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { repeatedOption, UsageError } from '../cli/context.js';
import { auditCode } from './engine.js';
import { formatLiveJson, formatLiveText, liveAudit } from './live.js';
import { formatJson } from './report/json.js';
import { formatSarif } from './report/sarif.js';
import { formatText } from './report/text.js';
import { SEVERITIES, SEVERITY_RANK, type Severity } from './types.js';

/**
 * Exit codes (docs/code-audit.md): 0 no finding at or above --fail-on, 1 findings, 2 usage
 * error, 3 the audit could not be completed (site unreachable, report not written, internal
 * error), so CI can tell "found something" from "did not run".
 */
export const EXIT = { clean: 0, findings: 1, usage: 2, failed: 3 } as const;

/** The audit could not be completed (not a finding, not a usage mistake): exit code 3. */
export class AuditFailure extends Error {
  override name = 'AuditFailure';
}

/** `gatehouse audit`: the CLI side. Declared in src/cli/commands.ts. Resolves to the exit code. */
export async function runAuditCommand(values: Record<string, string | boolean | undefined>, positionals: string[], argv: readonly string[]): Promise<number> {
  try {
    return await run(values, positionals, argv);
  } catch (error) {
    if (error instanceof UsageError) throw error; // exit 2, printed with the usage line
    const message = error instanceof Error ? error.message : String(error);
    console.error(error instanceof AuditFailure ? `gatehouse audit: ${message}` : `gatehouse audit: internal error: ${message}`);
    return EXIT.failed;
  }
}

async function run(values: Record<string, string | boolean | undefined>, positionals: string[], argv: readonly string[]): Promise<number> {
  const format = text(values, 'format') ?? 'text';
  if (!['text', 'json', 'sarif'].includes(format)) throw new UsageError('--format must be text, json or sarif.');
  const failOn = text(values, 'fail-on') ?? 'high';
  if (failOn !== 'none' && !(SEVERITIES as readonly string[]).includes(failOn)) throw new UsageError('--fail-on must be high, medium, low or none.');
  const threshold = failOn === 'none' ? Infinity : SEVERITY_RANK[failOn as Severity];
  const output = text(values, 'output');
  if (output !== undefined) checkOutput(output); // before the audit runs, not after
  const emit = (report: string) => {
    if (output === undefined) return console.log(report);
    try {
      writeFileSync(output, `${report}\n`);
    } catch (error) {
      throw new AuditFailure(`could not write the report to ${output} (${error instanceof Error ? error.message : String(error)}).`);
    }
  };

  const url = text(values, 'url');
  if (url !== undefined) {
    if (positionals.length > 0) throw new UsageError('give either paths or --url, not both.');
    if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) throw new UsageError(`--url "${url}" is not an absolute http(s) URL.`);
    if (format === 'sarif') throw new UsageError('--format sarif is for the code audit; use text or json with --url.');
    const result = await liveAudit(url, { cookie: text(values, 'cookie') }).catch((error: unknown) => {
      throw new AuditFailure(error instanceof Error ? error.message : String(error)); // the site did not answer
    });
    emit(format === 'json' ? formatLiveJson(result) : formatLiveText(result));
    return result.findings.some((f) => SEVERITY_RANK[f.severity] >= threshold) ? EXIT.findings : EXIT.clean;
  }
  if (text(values, 'cookie') !== undefined) throw new UsageError('--cookie works only with --url.');

  const paths = positionals.length > 0 ? positionals : ['.'];
  for (const p of paths) if (!existsSync(p)) throw new UsageError(`${p}: no such file or folder.`);
  const exclude = repeatedOption(argv, 'exclude');
  const result = auditCode({ paths, exclude, onProgress: progress() });
  if (result.files === 0) {
    console.error(`gatehouse audit: warning: no JS/TS source files found under ${paths.join(', ')} (node_modules, build output, dot folders and --exclude are skipped); nothing was checked.`);
  }
  emit(format === 'json' ? formatJson(result) : format === 'sarif' ? formatSarif(result, packageVersion()) : formatText(result));
  return result.findings.some((f) => SEVERITY_RANK[f.severity] >= threshold) ? EXIT.findings : EXIT.clean;
}

/** `--output` must name a file in an existing folder: say so before spending time on the audit. */
function checkOutput(output: string): void {
  const full = resolve(output);
  if (existsSync(full) && statSync(full).isDirectory()) throw new UsageError(`--output ${output} is a folder; give a file name.`);
  const folder = dirname(full);
  if (!existsSync(folder) || !statSync(folder).isDirectory()) throw new UsageError(`--output ${output}: the folder ${folder} does not exist.`);
}

function text(values: Record<string, string | boolean | undefined>, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' && v !== '' ? v : undefined;
}


/** A one-line counter on stderr for large trees, only when stderr is a terminal (never in CI logs or pipes). */
function progress(): ((done: number, total: number) => void) | undefined {
  if (!process.stderr.isTTY) return undefined;
  let last = 0;
  return (done, total) => {
    if (total < 200) return;
    const now = Date.now();
    if (done === total) process.stderr.write('\r\x1b[K');
    else if (now - last > 100) {
      last = now;
      process.stderr.write(`\rgatehouse audit: ${done}/${total} files`);
    }
  };
}

function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
      if (typeof parsed === 'object' && parsed !== null && 'version' in parsed && typeof parsed.version === 'string') return parsed.version;
    }
    dir = dirname(dir);
  }
  return '0.0.0';
}
