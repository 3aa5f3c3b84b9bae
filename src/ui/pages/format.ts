/** A UTC timestamp as the pages show it: 2026-06-01 14:05 UTC (the same for every viewer). */
export function utc(ms: number | Date): string {
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}
