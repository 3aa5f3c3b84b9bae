import { THEME_TOKENS, type ThemeToken } from './config.js';

/** `accentText` -> `--gh-accent-text`. */
export function cssVariable(token: ThemeToken): string {
  return `--gh-${token.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/**
 * The stylesheet of the built-in pages, served as a file (`<base>/assets/ui.css`) so the pages'
 * Content-Security-Policy needs no inline styles. Everything visual goes through the `--gh-*`
 * custom properties: `ui.theme` sets them, and an app stylesheet can override any of them.
 */
export function stylesheet(theme: Record<ThemeToken, string>): string {
  const tokens = (Object.keys(THEME_TOKENS) as ThemeToken[]).map((t) => `  ${cssVariable(t)}: ${theme[t]};`).join('\n');
  return `:root {\n${tokens}\n}\n${BASE}`;
}

const BASE = `
* { box-sizing: border-box; }
html { color-scheme: light; }
body { margin: 0; font: 16px/1.5 var(--gh-font); color: var(--gh-text); background: var(--gh-background); }
a { color: var(--gh-accent); }
a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible, summary:focus-visible { outline: 3px solid var(--gh-focus); outline-offset: 2px; }
.skip { position: absolute; left: -9999px; top: 8px; background: var(--gh-surface); padding: 8px 12px; border-radius: var(--gh-radius); z-index: 1; }
.skip:focus { left: 8px; }
header.gh-top { background: var(--gh-surface); border-bottom: 1px solid var(--gh-border); }
header.gh-top nav { max-width: 1000px; margin: 0 auto; padding: 10px 16px; display: flex; gap: 6px 16px; align-items: center; flex-wrap: wrap; }
header.gh-top nav a { text-decoration: none; font-weight: 600; padding: 4px 0; }
header.gh-top nav a[aria-current=page] { text-decoration: underline; text-underline-offset: 6px; text-decoration-thickness: 2px; }
header.gh-top .app { color: var(--gh-text); font-size: 18px; margin-right: 8px; }
header.gh-top .who { margin-left: auto; color: var(--gh-muted); font-size: 14px; display: flex; gap: 8px 12px; align-items: center; flex-wrap: wrap; }
main { max-width: 1000px; margin: 24px auto 48px; padding: 0 16px; }
main.narrow { max-width: 520px; }
.card { background: var(--gh-surface); border: 1px solid var(--gh-border); border-radius: var(--gh-radius); padding: 16px 20px; margin-bottom: 16px; }
.card > :first-child { margin-top: 0; } .card > :last-child { margin-bottom: 0; }
h1 { font-size: 28px; line-height: 1.25; margin: 0 0 16px; } h2 { font-size: 20px; margin: 0 0 8px; }
.muted { color: var(--gh-muted); }
code { background: color-mix(in srgb, var(--gh-border) 45%, transparent); padding: 1px 5px; border-radius: 4px; }
button, a.button { font: inherit; font-weight: 600; display: inline-block; padding: 7px 14px; border-radius: calc(var(--gh-radius) * 0.6); border: 1px solid var(--gh-accent); background: var(--gh-accent); color: var(--gh-accent-text); cursor: pointer; text-decoration: none; line-height: 1.4; }
button.secondary, a.button.secondary { background: var(--gh-surface); color: var(--gh-accent); }
button.danger { border-color: var(--gh-danger); background: var(--gh-surface); color: var(--gh-danger); }
button.wide, a.button.wide { width: 100%; text-align: center; }
button:disabled { opacity: .6; cursor: progress; }
button.link { background: none; border: 0; color: var(--gh-accent); padding: 4px 0; font-weight: 600; text-decoration: underline; }
label { font-weight: 600; display: block; }
input, select { font: inherit; color: inherit; background: var(--gh-surface); width: 100%; padding: 8px 10px; border: 1px solid color-mix(in srgb, var(--gh-text) 35%, var(--gh-border)); border-radius: calc(var(--gh-radius) * 0.6); margin: 4px 0 12px; }
select { width: auto; margin: 0; padding: 5px 8px; }
.hint { font-size: 14px; margin: -6px 0 14px; }
.row { display: flex; gap: 8px; flex-wrap: wrap; align-items: center; }
.stack { display: flex; flex-direction: column; gap: 8px; }
.divider { display: flex; align-items: center; gap: 12px; color: var(--gh-muted); margin: 16px 0; font-size: 14px; }
.divider::before, .divider::after { content: ""; flex: 1; border-top: 1px solid var(--gh-border); }
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
.banner { border-left: 4px solid var(--gh-accent); }
.banner.error { border-left-color: var(--gh-danger); } .banner.error p { color: var(--gh-danger); }
.banner.ok { border-left-color: var(--gh-success); }
[role=status] { min-height: 1.5em; color: var(--gh-danger); overflow-wrap: anywhere; }
[role=status][data-kind=ok] { color: var(--gh-success); } [role=status][data-kind=info] { color: var(--gh-text); }
p[role=status] { margin: 8px 0 0; } p[role=status]:empty { min-height: 0; margin: 0; }
.badge { display: inline-block; font-size: 12px; font-weight: 600; padding: 1px 8px; border-radius: 999px; background: color-mix(in srgb, var(--gh-accent) 12%, var(--gh-surface)); color: var(--gh-accent); white-space: nowrap; }
.badge.plain { background: color-mix(in srgb, var(--gh-border) 60%, var(--gh-surface)); color: var(--gh-text); }
.badge.danger { background: color-mix(in srgb, var(--gh-danger) 10%, var(--gh-surface)); color: var(--gh-danger); }
dl.profile { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 0; } dl.profile dt { color: var(--gh-muted); } dl.profile dd { margin: 0; overflow-wrap: anywhere; }
ol.codes { columns: 2; column-gap: 24px; padding-left: 28px; font: 600 16px/1.9 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.table-wrap { overflow-x: auto; }
table { width: 100%; border-collapse: collapse; }
td, th { text-align: left; padding: 8px 6px; border-bottom: 1px solid var(--gh-border); vertical-align: top; font-size: 14px; }
th { white-space: nowrap; color: var(--gh-muted); font-weight: 600; }
td.name, td.wrap { overflow-wrap: anywhere; min-width: 10em; }
td.when { white-space: nowrap; }
td.actions { white-space: nowrap; text-align: right; } td.actions .row { justify-content: flex-end; flex-wrap: nowrap; }
code.data { display: inline-block; margin-top: 4px; font: 12px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; overflow-wrap: anywhere; background: none; padding: 0; color: var(--gh-muted); }
.cell-label { display: none; color: var(--gh-muted); }
form.rename input { margin: 4px 0 8px; }
form.profile-name { margin-top: 12px; } form.profile-name input { flex: 1 1 12em; min-width: 0; }
form.filters { display: flex; gap: 8px 12px; flex-wrap: wrap; align-items: flex-end; }
form.filters label { font-size: 14px; } form.filters input, form.filters select { margin: 2px 0 0; width: 100%; padding: 8px 10px; }
form.filters .field { flex: 1 1 180px; }
.tabs { margin-bottom: 12px; }
.pager { display: flex; justify-content: space-between; gap: 12px; margin-top: 12px; }
@media (max-width: 640px) {
  h1 { font-size: 24px; }
  .card { padding: 14px 14px; }
  table.stacked, table.stacked tbody, table.stacked tr, table.stacked td { display: block; }
  table.stacked thead { display: none; }
  table.stacked tr { border-bottom: 1px solid var(--gh-border); padding: 10px 0; }
  table.stacked td { border: 0; padding: 2px 0; min-width: 0; }
  table.stacked td.actions { text-align: left; padding-top: 8px; white-space: normal; } table.stacked td.actions .row { justify-content: flex-start; flex-wrap: wrap; }
  .cell-label { display: inline; }
  ol.codes { columns: 1; }
  header.gh-top .who { margin-left: 0; width: 100%; }
}
`;
