import Table from 'cli-table3'
import type { BenchSweepResult } from '../results/types.js'
import { fmtChange, fmtMs, fmtRps, groupDigits } from './format.js'
import { serverMemoryLine, sweepRows, sweepTable } from './table-data.js'

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
  for (const p of result.points) {
    if (p.result.memory)
      lines.push(`${groupDigits(p.revocationEvents)} events, ${serverMemoryLine(p.result.memory)}`)
  }
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
