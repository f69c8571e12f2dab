import type { AnyResult, BenchSweepResult } from '../../results/types.js'
import { RESULT_TITLES } from '../table-data.js'
import { escapeHtml } from './markup.js'
import { chartIds, resultSection, sweepOverlay } from './sections.js'

/**
 * One self-contained HTML report (pure: results in, text out). No script, no external resource: the
 * charts are inline SVG drawn when the report is built, and a Content-Security-Policy forbids any network
 * access, so the file opens offline, in a mail attachment or a CI artifact viewer, and prints.
 */

const CSS = `
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: #1a1a1a;
  background: #fff; margin: 0 auto; padding: 24px 28px 48px; max-width: 1000px; line-height: 1.45; font-size: 15px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 21px; margin: 36px 0 8px; padding-top: 12px; border-top: 2px solid #e3e3e3; }
h2 .src { font-size: 14px; font-weight: normal; color: #555; }
.meta { color: #444; margin: 4px 0 12px; }
figure { margin: 18px 0; break-inside: avoid; page-break-inside: avoid; }
figcaption { color: #555; font-size: 13px; margin-top: 2px; }
svg.chart { width: 100%; height: auto; max-width: 860px; display: block; }
table { border-collapse: collapse; margin: 12px 0; font-size: 14px; font-variant-numeric: tabular-nums; }
th, td { padding: 5px 10px; border-bottom: 1px solid #e1e1e1; text-align: left; vertical-align: top; }
th { background: #f3f5f7; font-weight: 600; }
td.num, th.num { text-align: right; }
tbody tr:nth-child(even) td { background: #fafbfc; }
.kpis { display: flex; flex-wrap: wrap; gap: 10px; margin: 12px 0; }
.kpi { border: 1px solid #dfe3e8; border-radius: 6px; padding: 8px 14px; min-width: 120px; }
.kpi .k { color: #555; font-size: 13px; } .kpi .v { font-size: 20px; font-weight: 600; }
.verdict { font-size: 18px; } .verdict-leak strong { color: #b00020; } .verdict-no-leak strong { color: #006b3c; }
.verdict-inconclusive strong { color: #8a5a00; }
footer { margin-top: 40px; color: #666; font-size: 12px; }
@page { size: A4; margin: 14mm; }
@media print {
  body { max-width: none; padding: 0; font-size: 11pt; }
  h2 { break-after: avoid; page-break-after: avoid; }
  .kpi { border-color: #999; }
}
`

/** The whole report: every given result, sweeps overlaid in shared charts first. */
export function renderHtml(
  inputs: Array<{ result: AnyResult; source: string }>,
  opts: { title?: string; generatedAt?: string } = {},
): string {
  const chartId = chartIds()
  const title = opts.title ?? (inputs.length === 1 ? RESULT_TITLES[inputs[0]!.result.kind] : 'idtool report')
  const generatedAt = opts.generatedAt ?? new Date().toISOString()
  const body: string[] = []
  const sweeps = inputs.filter((i) => i.result.kind === 'bench.sweep') as Array<{
    result: BenchSweepResult
    source: string
  }>
  if (sweeps.length) {
    body.push(`<section class="overview"><h2>Revocation sweep${sweeps.length > 1 ? 's' : ''}</h2>`)
    body.push(
      sweepOverlay(
        sweeps.map((s) => ({ r: s.result, source: s.source })),
        chartId,
      ),
    )
    body.push('</section>')
  }
  for (const { result, source } of inputs) {
    const inner = resultSection(result, source, chartId)
    body.push(
      `<section class="result" data-kind="${escapeHtml(result.kind)}"><h2>${escapeHtml(RESULT_TITLES[result.kind])} <span class="src">${escapeHtml(source)}</span></h2>\n${inner}\n</section>`,
    )
  }
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="generator" content="idtool report">
<title>${escapeHtml(title)}</title>
<style>${CSS}</style>
</head>
<body>
<header><h1>${escapeHtml(title)}</h1>
<p class="meta">Generated ${escapeHtml(generatedAt)} by idtool from ${inputs.map((i) => escapeHtml(i.source)).join(', ')}</p></header>
${body.join('\n')}
<footer>idtool report · self-contained: no script, no network; charts are inline SVG.</footer>
</body>
</html>
`
}
