import type { Comment } from 'oxc-parser';
import type { SourceFile } from './source.js';

/**
 * Inline suppressions. A reason is required, after `--`:
 *
 *   // gatehouse-audit-ignore token-in-script-storage -- the value is a public feature flag
 *   // gatehouse-audit-ignore-file jwt-decode-unverified -- test code that forges tokens on purpose
 *
 * The line form covers findings on its own line and on the line below it.
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
}

export function parseSuppressions(file: SourceFile): ParsedSuppressions {
  const valid: Suppression[] = [];
  const invalid: ParsedSuppressions['invalid'] = [];
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
    const last = file.position(comment.end).line;
    valid.push({ rules, reason, lines: match[1] === '-file' ? undefined : [file.position(comment.start).line, last + 1], comment });
  }
  return { valid, invalid };
}

export function isSuppressed(suppressions: Suppression[], rule: string, line: number): boolean {
  return suppressions.some((s) => s.rules.includes(rule) && (s.lines === undefined || (line >= s.lines[0] && line <= s.lines[1])));
}
