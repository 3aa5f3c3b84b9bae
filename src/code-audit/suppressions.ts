import type { Comment } from 'oxc-parser';
import type { SourceFile } from './source.js';

/**
 * Inline suppressions. A reason is required, after `--`:
 *
 *   // gatehouse-audit-ignore token-in-script-storage -- the value is a public feature flag
 *   // gatehouse-audit-ignore-file jwt-decode-unverified -- test code that forges tokens on purpose
 *
 * The line form written alone on its line covers the line below it; written after code (a
 * trailing comment) it covers only its own line, so it cannot hide a finding on the next line.
 */
export interface Suppression {
  rules: string[];
  reason: string;
  /** 1-based lines covered; `undefined` for the whole file. */
  lines: [number, number] | undefined;
  comment: Comment;
}

const PATTERN = /^\s*\**\s*gatehouse-audit-ignore(-file)?\s+([a-z0-9-]+(?:\s*,\s*[a-z0-9-]+)*)\s*(?:--\s*(.*?))?\s*(?:\*\/)?\s*$/;
const MARKER = /^\s*\**\s*gatehouse-audit-ignore/;

export interface ParsedSuppressions {
  valid: Suppression[];
  /** Comments that mention the marker but give no reason (or are malformed). */
  invalid: { comment: Comment; problem: string }[];
  /** Rule ids in valid suppressions that no rule has (a typo suppresses nothing). */
  unknown: { comment: Comment; rule: string }[];
}

export function parseSuppressions(file: SourceFile, known: ReadonlySet<string>): ParsedSuppressions {
  const valid: Suppression[] = [];
  const invalid: ParsedSuppressions['invalid'] = [];
  const unknown: ParsedSuppressions['unknown'] = [];
  for (const comment of file.comments) {
    if (!MARKER.test(comment.value)) continue;
    const match = PATTERN.exec(comment.value.replace(/\n/g, ' '));
    if (match === null) {
      invalid.push({ comment, problem: 'Malformed suppression: write "gatehouse-audit-ignore <rule-id> -- <reason>".' });
      continue;
    }
    const reason = (match[3] ?? '').trim();
    if (reason.length < 3) {
      invalid.push({ comment, problem: 'A suppression needs a reason after "--", so reviewers know why the finding does not apply.' });
      continue;
    }
    const rules = (match[2] ?? '').split(',').map((r) => r.trim());
    for (const rule of rules) if (!known.has(rule)) unknown.push({ comment, rule });
    valid.push({ rules, reason, lines: match[1] === '-file' ? undefined : coveredLines(file, comment), comment });
  }
  return { valid, invalid, unknown };
}

/** A comment alone on its line(s) covers the next line; one that shares a line with code covers only its own lines. */
function coveredLines(file: SourceFile, comment: Comment): [number, number] {
  const first = file.position(comment.start).line;
  const last = file.position(Math.max(comment.start, comment.end - 1)).line;
  const before = file.line(first).slice(0, file.position(comment.start).column - 1);
  const after = file.line(last).slice(file.position(comment.end).column - 1);
  // `{/* ... */}` alone on a line is the JSX spelling of a comment on its own line.
  const alone = /^[\s{]*$/.test(before) && /^[\s}]*$/.test(after);
  return [first, alone ? last + 1 : last];
}

export function isSuppressed(suppressions: Suppression[], rule: string, line: number): boolean {
  return suppressions.some((s) => s.rules.includes(rule) && (s.lines === undefined || (line >= s.lines[0] && line <= s.lines[1])));
}
