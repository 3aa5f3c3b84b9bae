import { readFileSync, statSync } from 'node:fs';
import { fileFacts, mergeFacts } from './facts.js';
import { displayPath, listSourceFiles, MAX_FILE_BYTES } from './files.js';
import { ALL_RULE_INFO, RULES, SUPPRESSION_RULE } from './rules/index.js';
import { SourceFile } from './source.js';
import { isSuppressed, parseSuppressions } from './suppressions.js';
import { SEVERITY_RANK, type FileFacts, type Finding, type PendingFinding, type Rule } from './types.js';

export interface AuditOptions {
  /** Files or folders to audit (default: the working directory). */
  paths?: string[];
  exclude?: string[];
  /** Paths in findings are relative to this folder (default: the working directory). */
  base?: string;
  rules?: readonly Rule[];
  /** Called after each file: drive a progress indicator. */
  onProgress?: (done: number, total: number) => void;
}

export interface AuditResult {
  files: number;
  findings: Finding[];
  suppressed: number;
  /**
   * Files with syntax errors. `checked: true`: the parser recovered and the rules ran on what it
   * read; `checked: false`: it produced nothing, so the file was NOT checked at all.
   */
  parseErrors: { file: string; message: string; checked: boolean }[];
  skipped: string[];
  /** Files that were not (completely) checked for another reason: unreadable, or a rule failed on them. */
  notes: AuditNote[];
  durationMs: number;
}

export interface AuditNote {
  file: string;
  line?: number;
  message: string;
}

interface Deferred {
  finding: Finding;
  when: ((project: FileFacts) => boolean) | undefined;
}

/** Audits JS/TS source: parse each file once, run every rule, apply suppressions, then project-wide conditions. */
export function auditCode(options: AuditOptions = {}): AuditResult {
  const started = performance.now();
  const base = options.base ?? process.cwd();
  const rules = options.rules ?? RULES;
  const files = listSourceFiles(options.paths ?? [base], { exclude: options.exclude });
  const deferred: Deferred[] = [];
  const facts: FileFacts[] = [];
  const parseErrors: AuditResult['parseErrors'] = [];
  const skipped: string[] = [];
  const notes: AuditNote[] = [];
  const known = new Set([...ALL_RULE_INFO.map((r) => r.id), ...rules.map((r) => r.info.id)]);
  let suppressed = 0;

  files.forEach((path, i) => {
    const shown = displayPath(path, base);
    let text: string;
    try {
      if (statSync(path).size > MAX_FILE_BYTES) {
        skipped.push(shown);
        options.onProgress?.(i + 1, files.length);
        return;
      }
      text = readFileSync(path, 'utf8');
    } catch (error) {
      // One unreadable file (EACCES, removed while we ran) must not cost the findings of all the others.
      notes.push({ file: shown, message: `NOT checked: could not be read (${errorText(error)}).` });
      options.onProgress?.(i + 1, files.length);
      return;
    }
    try {
      checkFile(path, shown, text);
    } catch (error) {
      // A bug of ours (or a file shaped like nothing we expected) costs this file, not the run.
      notes.push({ file: shown, message: `NOT checked: internal error (${errorText(error)}); please report it.` });
    }
    options.onProgress?.(i + 1, files.length);
  });

  function checkFile(path: string, shown: string, text: string): void {
    const file = new SourceFile(path, text);
    if (file.errors.length > 0) parseErrors.push({ file: shown, message: file.errors[0] ?? 'parse error', checked: file.parsed });
    if (!file.parsed) return;
    facts.push(fileFacts(file));
    const { valid, invalid, unknown } = parseSuppressions(file, known);
    for (const u of unknown) {
      notes.push({ file: shown, line: file.position(u.comment.start).line, message: `the suppression names "${u.rule}", which is not a rule id, so it suppresses nothing (rule ids: docs/code-audit.md).` });
    }
    const pending: PendingFinding[] = invalid.map(({ comment, problem }) => ({
      rule: SUPPRESSION_RULE.info,
      node: { type: 'EmptyStatement', start: comment.start, end: comment.end },
      message: problem,
    }));
    for (const rule of rules) {
      try {
        rule.check(file, (f) => pending.push({ ...f, rule: rule.info }));
      } catch (error) {
        notes.push({ file: shown, message: `rule ${rule.info.id} failed on this file (${errorText(error)}); the other rules ran. Please report it.` });
      }
    }
    const seen = new Set<string>();
    for (const p of pending) {
      const from = file.position(p.node.start);
      const to = file.position(Math.max(p.node.start, p.node.end - 1));
      // One finding per rule, place and message: a call that lacks both expectedOrigin and
      // expectedRPID is two problems to fix, so both messages are kept.
      const key = `${p.rule.id}:${from.line}:${from.column}:${p.message}`;
      if (seen.has(key)) continue;
      seen.add(key);
      if (p.rule.id !== SUPPRESSION_RULE.info.id && isSuppressed(valid, p.rule.id, from.line)) {
        suppressed++;
        continue;
      }
      const finding: Finding = {
        rule: p.rule.id,
        severity: p.rule.severity,
        message: p.message,
        file: shown,
        line: from.line,
        column: from.column,
        endLine: to.line,
        excerpt: excerpt(file, from.line, to.line),
      };
      deferred.push({ finding, when: p.when });
    }
  }

  const project = mergeFacts(facts);
  const findings = deferred.filter((d) => d.when === undefined || d.when(project)).map((d) => d.finding);
  findings.sort((a, b) => SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] || a.file.localeCompare(b.file) || a.line - b.line || a.rule.localeCompare(b.rule));
  return { files: files.length, findings, suppressed, parseErrors, skipped, notes, durationMs: performance.now() - started };
}

function errorText(error: unknown): string {
  if (error instanceof Error) return 'code' in error && typeof error.code === 'string' ? error.code : error.message;
  return String(error);
}

/** The finding's lines (at most three), trimmed to a readable width. */
function excerpt(file: SourceFile, from: number, to: number): string {
  const last = Math.min(to, from + 2);
  const lines: string[] = [];
  for (let n = from; n <= last; n++) {
    const text = file.line(n);
    lines.push(text.length > 160 ? `${text.slice(0, 157)}...` : text);
  }
  return lines.join('\n');
}
