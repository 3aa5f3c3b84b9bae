import type { Node } from 'oxc-parser';
import type { SourceFile } from './source.js';

export const SEVERITIES = ['high', 'medium', 'low'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** Higher is worse; used for sorting and for `--fail-on`. */
export const SEVERITY_RANK: Record<Severity, number> = { high: 3, medium: 2, low: 1 };

/** The docs/ guide a rule links to. */
export type Guide = 'cookies' | 'sessions' | 'jwt' | 'oauth' | 'passkeys' | 'csrf' | 'rate-limiting' | 'authorization' | 'code-audit';

export interface RuleInfo {
  id: string;
  severity: Severity;
  title: string;
  /** One paragraph: what is wrong and what an attacker does with it. */
  explanation: string;
  fix: string;
  guide: Guide;
}

/** What one file tells about the whole project (rules that depend on the rest of the code). */
export interface FileFacts {
  policyModule: boolean;
  cookieAuth: boolean;
  csrfProtection: boolean;
  rateLimiting: boolean;
}

export type ProjectFacts = FileFacts;

export interface Finding {
  rule: string;
  severity: Severity;
  message: string;
  file: string;
  line: number;
  column: number;
  endLine: number;
  excerpt: string;
}

/** A finding before the engine knows the project: `when` decides once every file is read. */
export interface PendingFinding {
  rule: RuleInfo;
  node: Node;
  message: string;
  when?: (project: ProjectFacts) => boolean;
}

export interface Rule {
  info: RuleInfo;
  check(file: SourceFile, report: (finding: Omit<PendingFinding, 'rule'>) => void): void;
}
