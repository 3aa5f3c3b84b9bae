import { ALL_RULE_INFO } from '../rules/index.js';
import type { AuditResult } from '../engine.js';
import type { Severity } from '../types.js';
import { guidePath } from './text.js';

// SARIF 2.1.0 (OASIS), the subset GitHub code scanning reads: tool.driver.rules, results with
// ruleId/ruleIndex/level/message/locations, and security-severity for its severity column.
const LEVEL: Record<Severity, 'error' | 'warning' | 'note'> = { high: 'error', medium: 'warning', low: 'note' };
const SECURITY_SEVERITY: Record<Severity, string> = { high: '8.0', medium: '5.5', low: '3.0' };

export function formatSarif(result: AuditResult, version: string): string {
  const rules = ALL_RULE_INFO.map((r) => ({
    id: r.id,
    name: r.id.replace(/(^|-)([a-z])/g, (_m, _d: string, c: string) => c.toUpperCase()),
    shortDescription: { text: r.title },
    fullDescription: { text: r.explanation },
    help: { text: `${r.fix}\nGuide: Gatehouse ${guidePath(r)}`, markdown: `${r.fix}\n\nGuide: Gatehouse \`${guidePath(r)}\`` },
    defaultConfiguration: { level: LEVEL[r.severity] },
    properties: { tags: ['security'], precision: 'medium', 'security-severity': SECURITY_SEVERITY[r.severity] },
  }));
  const index = new Map(rules.map((r, i) => [r.id, i]));
  const sarif = {
    $schema: 'https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: { driver: { name: 'gatehouse-audit', semanticVersion: version, rules } },
        results: result.findings.map((f) => ({
          ruleId: f.rule,
          ruleIndex: index.get(f.rule) ?? 0,
          level: LEVEL[f.severity],
          message: { text: f.message },
          locations: [
            {
              physicalLocation: {
                artifactLocation: { uri: encodeURI(f.file) },
                region: { startLine: f.line, startColumn: f.column, endLine: f.endLine, snippet: { text: f.excerpt } },
              },
            },
          ],
          partialFingerprints: { primaryLocationLineHash: fingerprint(`${f.rule}:${f.file}:${f.excerpt.trim()}`) },
        })),
      },
    ],
  };
  return JSON.stringify(sarif, null, 2);
}

/** A stable fingerprint that survives line moves (FNV-1a of rule, file and code). */
function fingerprint(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, '0');
}
