import { groupDigits } from '../format.js'
import { escapeHtml } from './markup.js'

// SVG line charts drawn when the report is built (no script in the page): scales, ticks, series and legend.

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
/** The data ranges of a chart and the functions that map data to pixels. */
interface Scales {
  xTicks: Array<{ v: number; label: string }>
  yTicks: { lo: number; hi: number; step: number; ticks: number[] }
  /** data x to pixels */
  sx: (v: number) => number
  /** tick x (a decade on a percentile axis) to pixels */
  sxTick: (v: number) => number
  sy: (v: number) => number
}

const PLOT_W = W - PLOT_LEFT - PLOT_RIGHT

function xAxis(spec: ChartSpec, xs: number[], tx: (v: number) => number) {
  if (spec.xKind === 'percentile') {
    const x1 = Math.max(1, ...xs.map(tx))
    const ticks = Array.from({ length: Math.floor(x1 + 1e-9) + 1 }, (_, d) => ({
      v: d,
      label: percentileLabel(d),
    }))
    return { x0: 0, x1, ticks }
  }
  const t = niceTicks(spec.xFromZero === false ? Math.min(...xs) : Math.min(0, ...xs), Math.max(...xs, 0), 6)
  return { x0: t.lo, x1: t.hi, ticks: t.ticks.map((v) => ({ v, label: tickLabel(v, t.step, t.hi) })) }
}

function yAxis(spec: ChartSpec, ys: number[]) {
  const yMin = spec.yFromZero === false ? Math.min(...ys) : Math.min(0, ...ys)
  const yMax = Math.max(...ys, spec.yFromZero === false ? -Infinity : 0)
  const yt = niceTicks(yMin, yMax, 6)
  return spec.yFromZero === false && yt.hi - yt.lo < 1e-12 ? niceTicks(yMin - 1, yMax + 1, 6) : yt
}

function scales(spec: ChartSpec, series: ChartSeries[]): Scales {
  const xs = series.flatMap((s) => s.points.map((p) => p[0]))
  const ys = series.flatMap((s) => s.points.map((p) => p[1]))
  const tx = spec.xKind === 'percentile' ? (v: number) => Math.log10(Math.max(1, v)) : (v: number) => v
  const { x0, x1, ticks } = xAxis(spec, xs, tx)
  const yt = yAxis(spec, ys)
  const sxTick = (d: number) => PLOT_LEFT + ((d - x0) / (x1 - x0 || 1)) * PLOT_W
  const sx = (v: number) => sxTick(tx(v))
  return {
    xTicks: ticks,
    yTicks: yt,
    sx,
    sxTick: spec.xKind === 'percentile' ? sxTick : sx,
    sy: (v) => PLOT_TOP + PLOT_H - ((v - yt.lo) / (yt.hi - yt.lo || 1)) * PLOT_H,
  }
}

/** Where each legend entry goes: under the x-axis label, wrapping; and the chart's height. */
function legendLayout(series: ChartSeries[]) {
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
  return { items, height: (items.length ? ly + 18 : legendTop) + 8 }
}

function header(spec: ChartSpec, height: number): string[] {
  const titleId = `${spec.id}-title`
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="${escapeHtml(spec.id)}" viewBox="0 0 ${W} ${height}" width="${W}" height="${height}" role="img" aria-labelledby="${escapeHtml(titleId)}" font-family="${FONT}">`,
    `<title id="${escapeHtml(titleId)}">${escapeHtml(spec.title)}</title>`,
    `<rect x="0" y="0" width="${W}" height="${height}" fill="#ffffff"/>`,
    `<text x="${PLOT_LEFT}" y="24" font-size="17" font-weight="600" fill="#111">${escapeHtml(spec.title)}</text>`,
  ]
  if (spec.subtitle)
    out.push(`<text x="${PLOT_LEFT}" y="44" font-size="13" fill="#444">${escapeHtml(spec.subtitle)}</text>`)
  return out
}

function gridAndTicks(sc: Scales): string[] {
  const out = ['<g class="grid" stroke="#d9d9d9" stroke-width="1">']
  for (const t of sc.yTicks.ticks)
    out.push(`<line x1="${PLOT_LEFT}" x2="${W - PLOT_RIGHT}" y1="${f1(sc.sy(t))}" y2="${f1(sc.sy(t))}"/>`)
  for (const t of sc.xTicks) {
    const x = sc.sxTick(t.v)
    out.push(`<line x1="${f1(x)}" x2="${f1(x)}" y1="${PLOT_TOP}" y2="${PLOT_TOP + PLOT_H}"/>`)
  }
  out.push('</g>', '<g class="ticks" font-size="13" fill="#222">')
  for (const t of sc.yTicks.ticks)
    out.push(
      `<text x="${PLOT_LEFT - 8}" y="${f1(sc.sy(t) + 4.5)}" text-anchor="end">${escapeHtml(tickLabel(t, sc.yTicks.step, sc.yTicks.hi))}</text>`,
    )
  for (const t of sc.xTicks)
    out.push(
      `<text x="${f1(sc.sxTick(t.v))}" y="${PLOT_TOP + PLOT_H + 20}" text-anchor="middle">${escapeHtml(t.label)}</text>`,
    )
  out.push('</g>')
  return out
}

function axes(spec: ChartSpec): string[] {
  const ymid = PLOT_TOP + PLOT_H / 2
  return [
    `<path class="axes" d="M${PLOT_LEFT},${PLOT_TOP}V${PLOT_TOP + PLOT_H}H${W - PLOT_RIGHT}" fill="none" stroke="#333" stroke-width="1.2"/>`,
    `<text class="x-label" x="${f1(PLOT_LEFT + PLOT_W / 2)}" y="${PLOT_TOP + PLOT_H + 46}" text-anchor="middle" font-size="14" fill="#111">${escapeHtml(spec.xLabel)}</text>`,
    `<text class="y-label" x="20" y="${ymid}" text-anchor="middle" font-size="14" fill="#111" transform="rotate(-90 20 ${ymid})">${escapeHtml(spec.yLabel)}</text>`,
  ]
}

const dashAttr = (s: ChartSeries) => (s.dash ? ` stroke-dasharray="${s.dash}"` : '')
const markerFill = (s: ChartSeries) => (s.line === false ? s.color : '#fff')

function seriesPaths(series: ChartSeries[], sc: Scales): string[] {
  const out = [`<g class="series" clip-path="none">`]
  for (const s of series) {
    const pts = s.points.map(([x, y]) => [sc.sx(x), sc.sy(y)] as const)
    if (s.line !== false && pts.length > 1) {
      const d = pts.map(([x, y], k) => `${k === 0 ? 'M' : 'L'}${f1(x)},${f1(y)}`).join('')
      out.push(
        `<path class="line" data-series="${escapeHtml(s.name)}" d="${d}" fill="none" stroke="${s.color}" stroke-width="${s.width ?? 2.2}" stroke-linejoin="round" stroke-linecap="round"${dashAttr(s)}/>`,
      )
    }
    const marker = s.marker ?? 'none'
    if (marker !== 'none') {
      const r = s.markerSize ?? 4.5
      const d = pts.map(([x, y]) => markerPath(marker, x, y, r)).join('')
      out.push(
        `<path class="markers" data-series="${escapeHtml(s.name)}" d="${d}" fill="${markerFill(s)}" stroke="${s.color}" stroke-width="1.8"${s.line === false ? ' fill-opacity="0.55"' : ''}/>`,
      )
    }
  }
  out.push('</g>')
  return out
}

function legend(items: Array<{ s: ChartSeries; x: number; y: number }>): string[] {
  const out = ['<g class="legend" font-size="13" fill="#111">']
  for (const { s, x, y } of items) {
    const m = s.marker ?? 'none'
    if (s.line !== false)
      out.push(
        `<line x1="${f1(x)}" x2="${f1(x + 32)}" y1="${f1(y)}" y2="${f1(y)}" stroke="${s.color}" stroke-width="${s.width ?? 2.2}"${dashAttr(s)}/>`,
      )
    if (m !== 'none')
      out.push(
        `<path d="${markerPath(m, x + 16, y, 4.5)}" fill="${markerFill(s)}" stroke="${s.color}" stroke-width="1.8"/>`,
      )
    out.push(`<text x="${f1(x + 40)}" y="${f1(y + 4.5)}">${escapeHtml(s.name)}</text>`)
  }
  out.push('</g>')
  return out
}

/** An SVG line chart with labelled axes, grid, legend and title. Pure. */
export function lineChart(spec: ChartSpec): string {
  const series = spec.series.filter((s) => s.points.length > 0)
  const sc = scales(spec, series)
  const { items, height } = legendLayout(series)
  return [
    ...header(spec, height),
    ...gridAndTicks(sc),
    ...axes(spec),
    ...seriesPaths(series, sc),
    ...legend(items),
    '</svg>',
  ].join('\n')
}

/** The colour, marker and dash of the i-th series. */
export function styleFor(i: number) {
  return {
    color: PALETTE[i % PALETTE.length]!,
    marker: MARKERS[i % MARKERS.length]!,
    dash: DASHES[Math.floor(i / PALETTE.length) % DASHES.length] || undefined,
  }
}
