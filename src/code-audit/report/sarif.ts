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
  // Two findings of one rule on the same code (two missing options) need different fingerprints,
  // or code scanning merges them; the first keeps the plain hash so existing alerts stay matched.
  const occurrences = new Map<string, number>();
  const fingerprintOf = (f: AuditResult['findings'][number]) => {
    const hash = fingerprint(`${f.rule}:${f.file}:${f.excerpt.trim()}`);
    const n = (occurrences.get(hash) ?? 0) + 1;
    occurrences.set(hash, n);
    return n === 1 ? hash : `${hash}:${n}`;
  };
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
          partialFingerprints: { primaryLocationLineHash: fingerprintOf(f) },
        })),
        // Files that were not (fully) checked, so a clean upload does not hide them (SARIF 3.20.21).
        invocations: [{ executionSuccessful: true, toolExecutionNotifications: notifications(result) }],
      },
    ],
  };
  return JSON.stringify(sarif, null, 2);
}

function notifications(result: AuditResult): { level: 'warning' | 'note'; message: { text: string }; locations: { physicalLocation: { artifactLocation: { uri: string } } }[] }[] {
  const at = (file: string) => [{ physicalLocation: { artifactLocation: { uri: encodeURI(file) } } }];
  return [
    ...result.parseErrors.map((e) => ({ level: e.checked ? ('note' as const) : ('warning' as const), message: { text: e.checked ? `Could not parse completely (${e.message}); rules ran on the part that parsed.` : `NOT checked: syntax error the parser cannot recover from (${e.message}).` }, locations: at(e.file) })),
    ...result.skipped.map((file) => ({ level: 'note' as const, message: { text: 'Skipped: larger than 1 MB, probably generated.' }, locations: at(file) })),
    ...result.notes.map((n) => ({ level: 'warning' as const, message: { text: n.message }, locations: at(n.file) })),
  ];
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
