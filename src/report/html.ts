import { basename } from 'node:path'
import { decodeHistogram } from '../metrics/histogram.js'
import type {
  AnyResult,
  BenchSweepResult,
  BenchValidateResult,
  GateResult,
  LeakSubject,
  PageLeakCheckResult,
  Percentiles,
  RevokeBulkResult,
  TokensIssueResult,
} from '../results/types.js'
import { bytes, count, fmtMs, fmtRps, groupDigits, ratioPct, secs } from './format.js'
import {
  backendsTable,
  benchLatencyRows,
  gateChecksTable,
  leakLatencyTable,
  leakSubjectsTable,
  percentileCells,
  RESULT_TITLES,
  revokeBulkTable,
  revokeFailuresTable,
  sweepTable,
  type TableData,
  tokensIssueTable,
} from './table-data.js'

/**
 * One self-contained HTML report (pure: results in, text out). No script, no external resource: the
 * charts are inline SVG drawn here, and a Content-Security-Policy forbids any network access, so the file
 * opens offline, in a mail attachment or a CI artifact viewer, and prints.
 */

export function escapeHtml(s: unknown): string {
  return String(s ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;')
}

// ---------------------------------------------------------------------------------------------------
// scales and ticks

/** A "nice" tick step (1, 2 or 5 times a power of ten) for about `count` intervals over `range`. */
export function niceStep(range: number, count: number): number {
  const raw = range / Math.max(1, count)
  const mag = 10 ** Math.floor(Math.log10(raw))
  const norm = raw / mag
  const step = norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10
  return step * mag
}

/** Ticks covering [min, max] on nice round values. */
export function niceTicks(
  min: number,
  max: number,
  count = 6,
): { lo: number; hi: number; step: number; ticks: number[] } {
  let a = min
  let b = max
  if (!Number.isFinite(a) || !Number.isFinite(b)) {
    a = 0
    b = 1
  }
  if (b <= a) b = a === 0 ? 1 : a + Math.abs(a) * 0.1
  const step = niceStep(b - a, count)
  const lo = Math.floor(a / step + 1e-9) * step
  const hi = Math.ceil(b / step - 1e-9) * step
  const ticks: number[] = []
  for (let v = lo; v <= hi + step / 2; v += step) ticks.push(Math.round(v / step) * step)
  return { lo, hi, step, ticks }
}

function decimalsFor(step: number): number {
  return step >= 1 ? 0 : Math.min(6, Math.ceil(-Math.log10(step) - 1e-9))
}

/** A tick label: thousands grouped, fixed decimals for the step, "k" when the axis reaches 10,000 in round steps. */
export function tickLabel(v: number, step: number, axisMax = v): string {
  if (v !== 0 && axisMax >= 10_000 && step >= 1000 && v % 1000 === 0) return `${groupDigits(v / 1000)}k`
  const text = v.toFixed(decimalsFor(step))
  const [int, frac] = text.split('.')
  const grouped = int!.replace(/\B(?=(\d{3})+(?!\d))/g, ',')
  return frac === undefined ? grouped : `${grouped}.${frac}`
}

/** The percentile at x = 1/(1-p) as shown on spectrum axes: 0%, 90%, 99%, 99.9%, ... */
export function percentileLabel(decade: number): string {
  if (decade <= 0) return '0%'
  return `${(100 - 100 / 10 ** decade).toFixed(Math.max(0, decade - 2))}%`
}

// ---------------------------------------------------------------------------------------------------
// the chart

type Marker = 'circle' | 'square' | 'triangle' | 'diamond' | 'none'

export interface ChartSeries {
  name: string
  color: string
  points: Array<[number, number]>
  dash?: string
  width?: number
  marker?: Marker
  /** draw the line through the points (default true) */
  line?: boolean
  markerSize?: number
}

export interface ChartSpec {
  id: string
  title: string
  xLabel: string
  yLabel: string
  /** percentile: x values are 1/(1-p) and drawn on a log axis labelled in percent */
  xKind: 'linear' | 'percentile'
  /** start the y axis at zero (default true) */
  yFromZero?: boolean
  xFromZero?: boolean
  series: ChartSeries[]
  /** a line of text under the title */
  subtitle?: string
}

/** Okabe-Ito: distinguishable with colour-vision deficiencies, and paired with markers and dashes for print. */
export const PALETTE = [
  '#0072B2',
  '#D55E00',
  '#009E73',
  '#CC79A7',
  '#E69F00',
  '#56B4E9',
  '#8C6D31',
  '#444444',
]
const MARKERS: Marker[] = ['circle', 'square', 'triangle', 'diamond']
const DASHES = ['', '8 4', '2 3', '10 3 2 3']

const W = 860
const PLOT_LEFT = 86
const PLOT_RIGHT = 28
const PLOT_TOP = 62
const PLOT_H = 330
const FONT = 'system-ui, -apple-system, &quot;Segoe UI&quot;, Roboto, &quot;DejaVu Sans&quot;, sans-serif'

const f1 = (v: number) => (Math.round(v * 10) / 10).toString()

function markerPath(kind: Marker, x: number, y: number, r: number): string {
  switch (kind) {
    case 'circle':
      return `M${f1(x - r)},${f1(y)}a${f1(r)},${f1(r)} 0 1,0 ${f1(2 * r)},0a${f1(r)},${f1(r)} 0 1,0 ${f1(-2 * r)},0Z`
    case 'square':
      return `M${f1(x - r)},${f1(y - r)}h${f1(2 * r)}v${f1(2 * r)}h${f1(-2 * r)}Z`
    case 'triangle':
      return `M${f1(x)},${f1(y - r * 1.2)}L${f1(x + r * 1.1)},${f1(y + r * 0.8)}L${f1(x - r * 1.1)},${f1(y + r * 0.8)}Z`
    case 'diamond':
      return `M${f1(x)},${f1(y - r * 1.3)}L${f1(x + r * 1.1)},${f1(y)}L${f1(x)},${f1(y + r * 1.3)}L${f1(x - r * 1.1)},${f1(y)}Z`
    default:
      return ''
  }
}

/** Estimated width of a label in px at 13 px (good enough to lay out a legend). */
const textWidth = (s: string, px = 13) => s.length * px * 0.56

/** An SVG line chart with labelled axes, grid, legend and title. Pure. */
export function lineChart(spec: ChartSpec): string {
  const plotW = W - PLOT_LEFT - PLOT_RIGHT
  const series = spec.series.filter((s) => s.points.length > 0)
  const xs = series.flatMap((s) => s.points.map((p) => p[0]))
  const ys = series.flatMap((s) => s.points.map((p) => p[1]))
  const tx = spec.xKind === 'percentile' ? (v: number) => Math.log10(Math.max(1, v)) : (v: number) => v

  // x domain
  let xTicks: Array<{ v: number; label: string }>
  let x0: number
  let x1: number
  if (spec.xKind === 'percentile') {
    x0 = 0
    x1 = Math.max(1, ...xs.map(tx))
    xTicks = Array.from({ length: Math.floor(x1 + 1e-9) + 1 }, (_, d) => ({
      v: d,
      label: percentileLabel(d),
    }))
  } else {
    const t = niceTicks(
      spec.xFromZero === false ? Math.min(...xs) : Math.min(0, ...xs),
      Math.max(...xs, 0),
      6,
    )
    x0 = t.lo
    x1 = t.hi
    xTicks = t.ticks.map((v) => ({ v, label: tickLabel(v, t.step, t.hi) }))
  }
  // y domain
  const yMin = spec.yFromZero === false ? Math.min(...ys) : Math.min(0, ...ys)
  const yMax = Math.max(...ys, spec.yFromZero === false ? -Infinity : 0)
  let yt = niceTicks(yMin, yMax, 6)
  if (spec.yFromZero === false && yt.hi - yt.lo < 1e-12) yt = niceTicks(yMin - 1, yMax + 1, 6)
  const sx = (v: number) => PLOT_LEFT + ((tx(v) - x0) / (x1 - x0 || 1)) * plotW
  const sxd = (d: number) => PLOT_LEFT + ((d - x0) / (x1 - x0 || 1)) * plotW
  const sy = (v: number) => PLOT_TOP + PLOT_H - ((v - yt.lo) / (yt.hi - yt.lo || 1)) * PLOT_H

  // legend layout (under the x-axis label, wrapping)
  const legendTop = PLOT_TOP + PLOT_H + 62
  const items: Array<{ s: ChartSeries; x: number; y: number }> = []
  let lx = PLOT_LEFT
  let ly = legendTop
  for (const s of series) {
    const w = 40 + textWidth(s.name) + 22
    if (lx + w > W - PLOT_RIGHT && lx > PLOT_LEFT) {
      lx = PLOT_LEFT
      ly += 22
    }
    items.push({ s, x: lx, y: ly })
    lx += w
  }
  const height = (items.length ? ly + 18 : legendTop) + 8
  const titleId = `${spec.id}-title`
  const out: string[] = []
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="${escapeHtml(spec.id)}" viewBox="0 0 ${W} ${height}" width="${W}" height="${height}" role="img" aria-labelledby="${escapeHtml(titleId)}" font-family="${FONT}">`,
  )
  out.push(`<title id="${escapeHtml(titleId)}">${escapeHtml(spec.title)}</title>`)
  out.push(`<rect x="0" y="0" width="${W}" height="${height}" fill="#ffffff"/>`)
  out.push(
    `<text x="${PLOT_LEFT}" y="24" font-size="17" font-weight="600" fill="#111">${escapeHtml(spec.title)}</text>`,
  )
  if (spec.subtitle)
    out.push(`<text x="${PLOT_LEFT}" y="44" font-size="13" fill="#444">${escapeHtml(spec.subtitle)}</text>`)
  // grid and ticks
  out.push('<g class="grid" stroke="#d9d9d9" stroke-width="1">')
  for (const t of yt.ticks)
    out.push(`<line x1="${PLOT_LEFT}" x2="${W - PLOT_RIGHT}" y1="${f1(sy(t))}" y2="${f1(sy(t))}"/>`)
  for (const t of xTicks) {
    const x = spec.xKind === 'percentile' ? sxd(t.v) : sx(t.v)
    out.push(`<line x1="${f1(x)}" x2="${f1(x)}" y1="${PLOT_TOP}" y2="${PLOT_TOP + PLOT_H}"/>`)
  }
  out.push('</g>')
  out.push('<g class="ticks" font-size="13" fill="#222">')
  for (const t of yt.ticks)
    out.push(
      `<text x="${PLOT_LEFT - 8}" y="${f1(sy(t) + 4.5)}" text-anchor="end">${escapeHtml(tickLabel(t, yt.step, yt.hi))}</text>`,
    )
  for (const t of xTicks) {
    const x = spec.xKind === 'percentile' ? sxd(t.v) : sx(t.v)
    out.push(
      `<text x="${f1(x)}" y="${PLOT_TOP + PLOT_H + 20}" text-anchor="middle">${escapeHtml(t.label)}</text>`,
    )
  }
  out.push('</g>')
  // axes and labels
  out.push(
    `<path class="axes" d="M${PLOT_LEFT},${PLOT_TOP}V${PLOT_TOP + PLOT_H}H${W - PLOT_RIGHT}" fill="none" stroke="#333" stroke-width="1.2"/>`,
  )
  out.push(
    `<text class="x-label" x="${f1(PLOT_LEFT + plotW / 2)}" y="${PLOT_TOP + PLOT_H + 46}" text-anchor="middle" font-size="14" fill="#111">${escapeHtml(spec.xLabel)}</text>`,
  )
  const ymid = PLOT_TOP + PLOT_H / 2
  out.push(
    `<text class="y-label" x="20" y="${ymid}" text-anchor="middle" font-size="14" fill="#111" transform="rotate(-90 20 ${ymid})">${escapeHtml(spec.yLabel)}</text>`,
  )
  // series
  out.push(`<g class="series" clip-path="none">`)
  for (const s of series) {
    const pts = s.points.map(([x, y]) => [sx(x), sy(y)] as const)
    if (s.line !== false && pts.length > 1) {
      const d = pts.map(([x, y], k) => `${k === 0 ? 'M' : 'L'}${f1(x)},${f1(y)}`).join('')
      out.push(
        `<path class="line" data-series="${escapeHtml(s.name)}" d="${d}" fill="none" stroke="${s.color}" stroke-width="${s.width ?? 2.2}" stroke-linejoin="round" stroke-linecap="round"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`,
      )
    }
    const marker = s.marker ?? 'none'
    if (marker !== 'none') {
      const r = s.markerSize ?? 4.5
      const d = pts.map(([x, y]) => markerPath(marker, x, y, r)).join('')
      out.push(
        `<path class="markers" data-series="${escapeHtml(s.name)}" d="${d}" fill="${s.line === false ? s.color : '#fff'}" stroke="${s.color}" stroke-width="1.8"${s.line === false ? ' fill-opacity="0.55"' : ''}/>`,
      )
    }
  }
  out.push('</g>')
  // legend
  out.push('<g class="legend" font-size="13" fill="#111">')
  for (const { s, x, y } of items) {
    const m = s.marker ?? 'none'
    if (s.line !== false)
      out.push(
        `<line x1="${f1(x)}" x2="${f1(x + 32)}" y1="${f1(y)}" y2="${f1(y)}" stroke="${s.color}" stroke-width="${s.width ?? 2.2}"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`,
      )
    if (m !== 'none')
      out.push(
        `<path d="${markerPath(m, x + 16, y, 4.5)}" fill="${s.line === false ? s.color : '#fff'}" stroke="${s.color}" stroke-width="1.8"/>`,
      )
    out.push(`<text x="${f1(x + 40)}" y="${f1(y + 4.5)}">${escapeHtml(s.name)}</text>`)
  }
  out.push('</g>')
  out.push('</svg>')
  return out.join('\n')
}

// ---------------------------------------------------------------------------------------------------
// data for the charts

/**
 * A latency percentile spectrum from an encoded histogram: points [1/(1-p), ms], like HdrHistogram's
 * plotter, log-spaced up to the resolution the sample count allows, ending at the maximum.
 */
export function spectrumPoints(encoded: string, samples = 160): Array<[number, number]> {
  const h = decodeHistogram(encoded)
  const count = h.totalCount
  if (count === 0) return []
  const maxDecade = Math.max(1, Math.log10(count))
  const pts: Array<[number, number]> = []
  for (let i = 0; i < samples; i++) {
    const d = (maxDecade * i) / (samples - 1)
    const x = 10 ** d
    const p = Math.min(100, 100 * (1 - 1 / x))
    pts.push([x, h.getValueAtPercentile(p) / 1000])
  }
  pts.push([10 ** maxDecade, h.maxValue / 1000])
  return pts
}

function styleFor(i: number) {
  return {
    color: PALETTE[i % PALETTE.length]!,
    marker: MARKERS[i % MARKERS.length]!,
    dash: DASHES[Math.floor(i / PALETTE.length) % DASHES.length] || undefined,
  }
}

/** Least-squares intercept for a known slope: mean(y) - slope * mean(x). */
function interceptFor(series: Array<[number, number]>, slope: number): number {
  const mx = series.reduce((a, p) => a + p[0], 0) / series.length
  const my = series.reduce((a, p) => a + p[1], 0) / series.length
  return my - slope * mx
}

function decimate<T>(points: T[], max: number): T[] {
  if (points.length <= max) return points
  const step = points.length / max
  const out: T[] = []
  for (let i = 0; i < max; i++) out.push(points[Math.floor(i * step)]!)
  out.push(points[points.length - 1]!)
  return out
}

// ---------------------------------------------------------------------------------------------------
// sections

const n = (v: number | null | undefined) => count(v, '–')

/** An HTML table; columns listed in `numeric` are right-aligned. Cells are escaped. */
export function htmlTable(head: string[], rows: unknown[][], numeric: number[] = []): string {
  const cls = (i: number) => (numeric.includes(i) ? ' class="num"' : '')
  return [
    '<table>',
    `<thead><tr>${head.map((h, i) => `<th${cls(i)}>${escapeHtml(h)}</th>`).join('')}</tr></thead>`,
    '<tbody>',
    ...rows.map((r) => `<tr>${r.map((c, i) => `<td${cls(i)}>${escapeHtml(c)}</td>`).join('')}</tr>`),
    '</tbody>',
    '</table>',
  ].join('\n')
}

/** A table built by the shared builders, numeric columns right-aligned. */
const tbl = (t: TableData) => htmlTable(t.head, t.rows, t.numeric)

const figure = (svg: string, caption?: string) =>
  `<figure>${svg}${caption ? `<figcaption>${escapeHtml(caption)}</figcaption>` : ''}</figure>`

const pctRow = (name: string, p: Percentiles | null | undefined, count?: number): unknown[] =>
  percentileCells(name, p, count, '–')

let chartCounter = 0
const chartId = (base: string) => `${base}-${++chartCounter}`

function benchValidateSection(r: BenchValidateResult, source: string): string {
  const load =
    r.model === 'open' ? `open model at ${n(r.rate)} req/s` : `closed model, concurrency ${n(r.concurrency)}`
  const parts: string[] = []
  parts.push(
    `<p class="meta">${escapeHtml(r.method)} ${escapeHtml(r.target)} · ${escapeHtml(load)} · ${n(r.connections)} connections · started ${escapeHtml(r.startedAt)} · ${secs(r.durationMs)}${r.mergedFrom ? ` · merged from ${r.mergedFrom} results` : ''}${r.interrupted ? ' · <strong>interrupted: partial</strong>' : ''}</p>`,
  )
  parts.push(
    `<div class="kpis">${[
      ['throughput', `${fmtRps(r.throughput.rps)} /s`],
      ['p50', `${fmtMs(r.latencyMs.p50)} ms`],
      ['p99', `${fmtMs(r.latencyMs.p99)} ms`],
      ['max', `${fmtMs(r.latencyMs.max)} ms`],
      ['requests', n(r.requests.total)],
      ['errors', n(r.requests.errors + r.requests.unexpectedStatus)],
      ...(r.failures ? [['failure rate', ratioPct(r.failures.rate)]] : []),
    ]
      .map(
        ([k, v]) =>
          `<div class="kpi"><div class="k">${escapeHtml(k)}</div><div class="v">${escapeHtml(v)}</div></div>`,
      )
      .join('')}</div>`,
  )
  // spectrum: the whole run, the uncorrected view, one line per backend
  const series: ChartSeries[] = []
  series.push({
    name: r.failures
      ? r.model === 'open'
        ? 'expected answers (from intended send time)'
        : 'expected answers'
      : r.model === 'open'
        ? 'all (from intended send time)'
        : 'all requests',
    color: '#111111',
    width: 3,
    points: spectrumPoints(r.histogram),
  })
  if (r.histogramUncorrected)
    series.push({
      name: 'all, uncorrected',
      color: '#777777',
      dash: '6 4',
      width: 2,
      points: spectrumPoints(r.histogramUncorrected),
    })
  const backends = Object.entries(r.backends ?? {})
  const missing: string[] = []
  backends.forEach(([name, b], i) => {
    if (!b.histogram) {
      missing.push(name)
      return
    }
    const st = styleFor(i)
    series.push({
      name: `backend ${name}`,
      color: st.color,
      dash: st.dash,
      points: spectrumPoints(b.histogram),
    })
  })
  parts.push(
    figure(
      lineChart({
        id: chartId('spectrum'),
        title: 'Latency by percentile',
        subtitle: `${basename(source)} · ${n(r.requests.total)} requests${missing.length ? ` · no histogram for ${missing.join(', ')}` : ''}`,
        xLabel: 'percentile (log scale of 1/(1−p))',
        yLabel: 'latency (ms)',
        xKind: 'percentile',
        series,
      }),
      'Each line gives the latency below which that share of requests finished; the tail is on the right.',
    ),
  )
  const rows = benchLatencyRows(r, '–') ?? [
    pctRow(r.model === 'open' ? 'all (from intended send time)' : 'all', r.latencyMs, r.requests.total),
  ]
  if (!r.failures) {
    if (r.latencyUncorrectedMs) rows.push(pctRow('all, uncorrected', r.latencyUncorrectedMs))
    if (r.cold) rows.push(pctRow('cold (first validation)', r.cold.latencyMs, r.cold.count))
    if (r.warm) rows.push(pctRow('warm (repeat)', r.warm.latencyMs, r.warm.count))
  }
  parts.push(
    htmlTable(
      ['latency (ms)', 'count', 'p50', 'p90', 'p99', 'p99.9', 'max', 'mean'],
      rows,
      [1, 2, 3, 4, 5, 6, 7],
    ),
  )
  const backendRows = backendsTable(r, '–')
  if (backendRows) parts.push(tbl(backendRows))
  const codes = Object.entries(r.statusCodes ?? {})
  const errs = Object.entries(r.errors ?? {})
  parts.push(
    htmlTable(
      ['requests', 'ok', 'errors', 'unexpected status', 'late', 'status codes', 'errors by class'],
      [
        [
          n(r.requests.total),
          n(r.requests.ok),
          n(r.requests.errors),
          n(r.requests.unexpectedStatus),
          n(r.requests.late),
          codes.map(([k, v]) => `${k}: ${groupDigits(v)}`).join(', ') || '–',
          errs.map(([k, v]) => `${k}: ${groupDigits(v)}`).join(', ') || '–',
        ],
      ],
      [0, 1, 2, 3, 4],
    ),
  )
  return parts.join('\n')
}

function sweepName(r: BenchSweepResult, source: string): string {
  return r.label || basename(source).replace(/\.json$/i, '')
}

/** Throughput and p99 against revocation events, all sweeps overlaid. */
function sweepOverlay(sweeps: Array<{ r: BenchSweepResult; source: string }>): string {
  const rpsSeries: ChartSeries[] = []
  const latSeries: ChartSeries[] = []
  sweeps.forEach(({ r, source }, i) => {
    const st = styleFor(i)
    const name = sweepName(r, source)
    rpsSeries.push({
      name,
      color: st.color,
      marker: st.marker,
      dash: st.dash,
      points: r.points.map((p) => [p.revocationEvents, p.rps]),
    })
    latSeries.push({
      name: `${name} p99`,
      color: st.color,
      marker: st.marker,
      dash: st.dash,
      points: r.points.map((p) => [p.revocationEvents, p.latencyMs.p99]),
    })
    latSeries.push({
      name: `${name} p50`,
      color: st.color,
      marker: st.marker,
      dash: '3 4',
      width: 1.6,
      markerSize: 3.2,
      points: r.points.map((p) => [p.revocationEvents, p.latencyMs.p50]),
    })
  })
  const several =
    sweeps.length > 1 ? `${sweeps.length} sweeps overlaid` : sweepName(sweeps[0]!.r, sweeps[0]!.source)
  return [
    figure(
      lineChart({
        id: chartId('sweep-rps'),
        title: 'Validation throughput against revocation events',
        subtitle: several,
        xLabel: 'revocation events in the database',
        yLabel: 'throughput (validations/s)',
        xKind: 'linear',
        series: rpsSeries,
      }),
    ),
    figure(
      lineChart({
        id: chartId('sweep-latency'),
        title: 'Validation latency against revocation events',
        subtitle: `${several} · solid: p99, dotted: p50`,
        xLabel: 'revocation events in the database',
        yLabel: 'latency (ms)',
        xKind: 'linear',
        series: latSeries,
      }),
    ),
  ].join('\n')
}

function sweepSection(r: BenchSweepResult, source: string): string {
  const parts = [
    `<p class="meta">${escapeHtml(sweepName(r, source))} · ${r.points.length} levels · started ${escapeHtml(r.startedAt)} · ${secs(r.durationMs)}${r.interrupted ? ' · <strong>interrupted: the points measured so far</strong>' : ''}</p>`,
    tbl(sweepTable(r)),
  ]
  const series: ChartSeries[] = r.points
    .filter((p) => p.result?.histogram)
    .map((p, i) => {
      const st = styleFor(i)
      return {
        name: `${groupDigits(p.revocationEvents)} events`,
        color: st.color,
        dash: st.dash,
        points: spectrumPoints(p.result.histogram),
      }
    })
  if (series.length)
    parts.push(
      figure(
        lineChart({
          id: chartId('sweep-spectrum'),
          title: 'Latency by percentile at each level',
          subtitle: sweepName(r, source),
          xLabel: 'percentile (log scale of 1/(1−p))',
          yLabel: 'latency (ms)',
          xKind: 'percentile',
          series,
        }),
      ),
    )
  return parts.join('\n')
}

function memoryUnit(values: number[]): { div: number; unit: string } {
  const max = Math.max(...values.map(Math.abs))
  return max >= 10 * 1024 * 1024 ? { div: 1024 * 1024, unit: 'MiB' } : { div: 1024, unit: 'KiB' }
}

function leakChart(s: LeakSubject, i: number, r: PageLeakCheckResult): string {
  const series = s.series ?? []
  if (series.length === 0) return `<p class="note">${escapeHtml(s.name)}: no samples in this result.</p>`
  const { div, unit } = memoryUnit(series.map((p) => p[1]))
  const b = interceptFor(series, s.slopeBytesPerIteration)
  const xs = series.map((p) => p[0])
  const xa = Math.min(...xs)
  const xb = Math.max(...xs)
  const st = styleFor(i)
  const sign = s.slopeBytesPerIteration >= 0 ? '+' : ''
  return figure(
    lineChart({
      id: chartId('leak'),
      title: `${s.name}${s.pid !== null ? ` (pid ${s.pid})` : ''}: ${s.metric} against iterations`,
      subtitle: `verdict ${s.verdict} · slope ${sign}${s.slopeBytesPerIteration.toFixed(1)} B/iteration, 95% CI ${s.ci95[0].toFixed(1)} .. ${s.ci95[1].toFixed(1)} · threshold ${bytes(r.leakThresholdBytesPerIteration)}/iteration`,
      xLabel: 'iterations (searches)',
      yLabel: `${s.metric} (${unit})`,
      xKind: 'linear',
      yFromZero: false,
      series: [
        {
          name: `samples (${series.length})`,
          color: st.color,
          marker: 'circle',
          markerSize: 3,
          line: false,
          points: decimate(series, 3000).map(([x, y]) => [x, y / div]),
        },
        {
          name: `fitted slope ${sign}${s.slopeBytesPerIteration.toFixed(1)} B/iteration`,
          color: '#111111',
          width: 2.4,
          points: [
            [xa, (b + s.slopeBytesPerIteration * xa) / div],
            [xb, (b + s.slopeBytesPerIteration * xb) / div],
          ],
        },
      ],
    }),
  )
}

function leakSection(r: PageLeakCheckResult): string {
  const parts = [
    `<p class="verdict verdict-${escapeHtml(r.verdict)}">Verdict: <strong>${escapeHtml(r.verdict)}</strong></p>`,
    `<p class="meta">${escapeHtml(r.mode)} · ${escapeHtml(r.target)} · page size ${r.pageSize} · ${n(r.searches)} searches, ${n(r.pages)} pages, ${n(r.entries)} entries · ${secs(r.durationMs)}${r.interrupted ? ' · <strong>interrupted</strong>' : ''}</p>`,
    tbl(leakSubjectsTable(r, '–')),
    ...r.subjects.map((s, i) => leakChart(s, i, r)),
    tbl(leakLatencyTable(r)),
  ]
  if (r.histograms?.page && r.histograms.search) {
    parts.push(
      figure(
        lineChart({
          id: chartId('ldap-spectrum'),
          title: 'LDAP latency by percentile',
          xLabel: 'percentile (log scale of 1/(1−p))',
          yLabel: 'latency (ms)',
          xKind: 'percentile',
          series: [
            { name: 'one page', color: PALETTE[0]!, points: spectrumPoints(r.histograms.page) },
            {
              name: 'whole search',
              color: PALETTE[1]!,
              dash: '8 4',
              points: spectrumPoints(r.histograms.search),
            },
          ],
        }),
      ),
    )
  }
  return parts.join('\n')
}

function revokeSection(r: RevokeBulkResult): string {
  const failures = revokeFailuresTable(r)
  return [
    tbl(revokeBulkTable(r, '–')),
    `<p class="meta">ledger ${escapeHtml(r.ledger)}${r.interrupted ? ' · <strong>interrupted</strong>' : ''}</p>`,
    ...(failures ? [tbl(failures)] : []),
  ].join('\n')
}

function tokensSection(r: TokensIssueResult): string {
  return tbl(tokensIssueTable(r, '–', r.file))
}

function gateSection(r: GateResult): string {
  return [
    `<p class="verdict verdict-${r.passed ? 'no-leak' : 'leak'}">Gate: <strong>${r.passed ? 'passed' : 'FAILED'}</strong></p>`,
    tbl(gateChecksTable(r, '–')),
  ].join('\n')
}

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
  chartCounter = 0
  const title = opts.title ?? (inputs.length === 1 ? RESULT_TITLES[inputs[0]!.result.kind] : 'idtool report')
  const generatedAt = opts.generatedAt ?? new Date().toISOString()
  const body: string[] = []
  const sweeps = inputs.filter((i) => i.result.kind === 'bench.sweep') as Array<{
    result: BenchSweepResult
    source: string
  }>
  if (sweeps.length) {
    body.push(`<section class="overview"><h2>Revocation sweep${sweeps.length > 1 ? 's' : ''}</h2>`)
    body.push(sweepOverlay(sweeps.map((s) => ({ r: s.result, source: s.source }))))
    body.push('</section>')
  }
  for (const { result, source } of inputs) {
    let inner: string
    switch (result.kind) {
      case 'bench.validate':
        inner = benchValidateSection(result, source)
        break
      case 'bench.sweep':
        inner = sweepSection(result, source)
        break
      case 'ldap.page-leak-check':
        inner = leakSection(result)
        break
      case 'revoke-bulk':
        inner = revokeSection(result)
        break
      case 'tokens.issue':
        inner = tokensSection(result)
        break
      case 'gate':
        inner = gateSection(result)
        break
    }
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
