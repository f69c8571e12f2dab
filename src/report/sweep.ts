import Table from 'cli-table3'
import type { BenchSweepResult } from '../results/types.js'
import type { TableData } from './summary.js'

/** 12345 -> "12,345" (locale independent). */
export function groupDigits(n: number): string {
  const [int, frac] = String(n).split('.')
  const grouped = int!.replace(/\B(?=(\d{3})+(?!\d))/g, ',')
  return frac === undefined ? grouped : `${grouped}.${frac}`
}

/** Milliseconds with a precision that suits their size (3 significant digits, at most 3 decimals). */
export function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return '-'
  const a = Math.abs(ms)
  if (a >= 100) return groupDigits(Math.round(ms))
  if (a >= 10) return ms.toFixed(1)
  if (a >= 1) return ms.toFixed(2)
  return ms.toFixed(3)
}

export function fmtRps(rps: number): string {
  if (!Number.isFinite(rps)) return '-'
  return rps >= 1000 ? groupDigits(Math.round(rps)) : rps.toFixed(1)
}

/** "+12%", "-44%", "0%" ; "-" when there is no base. */
export function fmtChange(pct: number | null): string {
  if (pct === null || !Number.isFinite(pct)) return '-'
  const r = Math.round(pct)
  return r > 0 ? `+${r}%` : `${r}%`
}

export interface SweepRow {
  revocationEvents: number
  rps: number
  p50: number
  p99: number
  errors: number
  requests: number
  /** throughput change against the first point, in percent */
  rpsChangePct: number | null
  /** p99 change against the first point, in percent */
  p99ChangePct: number | null
  /** the level was interrupted: its figures cover part of the run */
  partial: boolean
}

const change = (v: number, base: number | undefined) =>
  base === undefined || base === 0 ? null : ((v - base) / base) * 100

/** The rows of a sweep (pure), with the change against the first point. */
export function sweepRows(result: BenchSweepResult): SweepRow[] {
  const first = result.points[0]
  return result.points.map((p) => ({
    revocationEvents: p.revocationEvents,
    rps: p.rps,
    p50: p.latencyMs.p50,
    p99: p.latencyMs.p99,
    errors: p.errors,
    requests: p.result?.requests?.total ?? 0,
    rpsChangePct: change(p.rps, first?.rps),
    p99ChangePct: change(p.latencyMs.p99, first?.latencyMs.p99),
    partial: Boolean(p.result?.interrupted),
  }))
}

/** One row per revocation level of a sweep, as data (the text, Markdown and HTML renderers lay it out). */
export function sweepTable(result: BenchSweepResult): TableData {
  return {
    head: [
      'revocation events',
      'rps',
      'p50 ms',
      'p99 ms',
      'errors',
      'requests',
      'rps vs first',
      'p99 vs first',
    ],
    rows: sweepRows(result).map((x) => [
      `${groupDigits(x.revocationEvents)}${x.partial ? ' (partial)' : ''}`,
      fmtRps(x.rps),
      fmtMs(x.p50),
      fmtMs(x.p99),
      groupDigits(x.errors),
      groupDigits(x.requests),
      fmtChange(x.rpsChangePct),
      fmtChange(x.p99ChangePct),
    ]),
    numeric: [0, 1, 2, 3, 4, 5, 6, 7],
  }
}

/** One row per level: events, rps, p50, p99, errors and the change against the first level. */
export function renderSweepTable(result: BenchSweepResult): string {
  const data = sweepTable(result)
  const t = new Table({
    head: data.head,
    colAligns: data.head.map((_, i) => (data.numeric.includes(i) ? 'right' : 'left')),
    style: { head: [], border: [] },
  })
  for (const row of data.rows) t.push(row as string[])
  const lines = [t.toString()]
  const title = result.label ? `sweep "${result.label}"` : 'sweep'
  lines.push(
    `${title}: ${result.points.length} level${result.points.length === 1 ? '' : 's'} in ${(result.durationMs / 1000).toFixed(1)} s${result.interrupted ? ' (interrupted: the points measured so far)' : ''}`,
  )
  return lines.join('\n')
}

const EIGHTHS = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉']

/** A horizontal bar of `value / max * width` cells, with eighth-cell precision (or '#' in ASCII). */
export function bar(value: number, max: number, width: number, ascii = false): string {
  if (!(max > 0) || !(value > 0)) return ''
  const cells = Math.min(width, (value / max) * width)
  if (ascii) return '#'.repeat(Math.max(1, Math.round(cells)))
  const full = Math.floor(cells)
  const rest = Math.round((cells - full) * 8)
  const s = '█'.repeat(full) + (rest === 8 ? '█' : (EIGHTHS[rest] ?? ''))
  return s || '▏'
}

/**
 * A terminal chart of the sweep: throughput and p99 latency as bars, one line per level, so the shape of
 * the curve shows at a glance. Pure; `ascii` draws with '#' for terminals without block characters.
 */
export function renderSweepChart(
  result: BenchSweepResult,
  opts: { width?: number; ascii?: boolean } = {},
): string {
  const rows = sweepRows(result)
  if (rows.length === 0) return '(no points measured)'
  const width = Math.max(10, opts.width ?? 40)
  const labels = rows.map((r) => groupDigits(r.revocationEvents))
  const lw = Math.max(6, ...labels.map((l) => l.length))
  const section = (
    title: string,
    values: number[],
    fmt: (v: number) => string,
    changes: Array<number | null>,
  ) => {
    const max = Math.max(...values)
    const texts = values.map(fmt)
    const tw = Math.max(...texts.map((t) => t.length))
    const out = [title]
    rows.forEach((_, i) => {
      const b = bar(values[i]!, max, width, opts.ascii)
      const c = i === 0 ? '' : `  ${fmtChange(changes[i] ?? null)}`
      out.push(`${labels[i]!.padStart(lw)} │${b.padEnd(width)} ${texts[i]!.padStart(tw)}${c}`)
    })
    return out.join('\n')
  }
  return [
    section(
      'throughput (validations/s) by revocation events',
      rows.map((r) => r.rps),
      fmtRps,
      rows.map((r) => r.rpsChangePct),
    ),
    section(
      'p99 latency (ms) by revocation events',
      rows.map((r) => r.p99),
      fmtMs,
      rows.map((r) => r.p99ChangePct),
    ),
  ].join('\n\n')
}
