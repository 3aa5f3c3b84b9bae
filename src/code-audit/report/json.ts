import type { AuditResult } from '../engine.js';

export const JSON_REPORT_VERSION = 1;

/** `--format json`: stable, versioned, one object. */
export function formatJson(result: AuditResult): string {
  return JSON.stringify(
    {
      version: JSON_REPORT_VERSION,
      tool: 'gatehouse audit',
      files: result.files,
      summary: { high: count(result, 'high'), medium: count(result, 'medium'), low: count(result, 'low'), suppressed: result.suppressed },
      findings: result.findings,
      parseErrors: result.parseErrors,
      skipped: result.skipped,
      notes: result.notes,
    },
    null,
    2,
  );
}

function count(result: AuditResult, severity: string): number {
  return result.findings.filter((f) => f.severity === severity).length;
}
