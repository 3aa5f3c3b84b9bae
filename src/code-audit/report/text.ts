import { ALL_RULE_INFO } from '../rules/index.js';
import { SEVERITIES, type Finding, type RuleInfo } from '../types.js';
import type { AuditResult } from '../engine.js';

export function guidePath(info: RuleInfo): string {
  return `docs/${info.guide}.md`;
}

const info = (id: string) => ALL_RULE_INFO.find((r) => r.id === id);

/** The terminal report: findings grouped by severity, each with file:line, the code, the fix and the guide. */
export function formatText(result: AuditResult): string {
  const out: string[] = [];
  const counts = SEVERITIES.map((s) => `${result.findings.filter((f) => f.severity === s).length} ${s}`).join(', ');
  for (const severity of SEVERITIES) {
    const group = result.findings.filter((f) => f.severity === severity);
    if (group.length === 0) continue;
    out.push(`${severity.toUpperCase()} (${group.length})`, '');
    for (const f of group) out.push(...formatFinding(f), '');
  }
  for (const e of result.parseErrors) {
    out.push(e.checked ? `note: ${e.file}: could not parse completely (${e.message}); rules ran on the part that parsed.` : `note: ${e.file}: NOT checked: syntax error the parser cannot recover from (${e.message}).`);
  }
  for (const s of result.skipped) out.push(`note: ${s}: skipped (larger than 1 MB, probably generated).`);
  for (const n of result.notes) out.push(`note: ${n.file}${n.line === undefined ? '' : `:${n.line}`}: ${n.message}`);
  const seconds = (result.durationMs / 1000).toFixed(2);
  out.push(
    result.files === 0
      ? 'gatehouse audit: no JS/TS source files found; nothing was checked.'
      : result.findings.length === 0
      ? `gatehouse audit: ${result.files} file(s), no findings (${seconds}s${result.suppressed > 0 ? `, ${result.suppressed} suppressed` : ''}).`
      : `gatehouse audit: ${result.files} file(s), ${result.findings.length} finding(s): ${counts} (${seconds}s${result.suppressed > 0 ? `, ${result.suppressed} suppressed` : ''}).`,
  );
  return out.join('\n');
}

function formatFinding(f: Finding): string[] {
  const rule = info(f.rule);
  const lines = f.excerpt.split('\n');
  const width = String(f.line + lines.length - 1).length;
  return [
    `  ${f.file}:${f.line}:${f.column}  ${f.rule}`,
    `    ${f.message}`,
    ...lines.map((text, i) => `    ${String(f.line + i).padStart(width)} | ${text}`),
    ...(rule === undefined ? [] : [`    Fix: ${rule.fix}`, `    Guide: ${guidePath(rule)}`]),
  ];
}
