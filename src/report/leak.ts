import Table from 'cli-table3'
import type { LeakSubject, PageLeakCheckResult } from '../results/types.js'
import { bytes as formatBytes, msCell as ms } from './format.js'
import { leakConsistencyTable, leakWritesNote, leakWritesTable, type TableData } from './table-data.js'

const signed = (b: number) => (b > 0 ? `+${formatBytes(b)}` : formatBytes(b))

/** A shared table as a terminal table. */
function textTable(t: TableData): string {
  const table = new Table({
    head: t.head,
    style: { head: [], border: [] },
    colAligns: t.head.map((_, i) => (t.numeric.includes(i) ? 'right' : 'left')),
  })
  for (const row of t.rows) table.push(row.map((c) => String(c ?? '-')))
  return table.toString()
}

/** The writes and the paging consistency of a run with --writers (no lines without). */
function writesLines(r: PageLeakCheckResult): string[] {
  const writes = leakWritesTable(r, '-')
  const consistency = leakConsistencyTable(r, '-')
  const c = r.consistency
  if (!writes || !consistency || !c) return []
  const ok = c.consistent === c.searches
  return [
    `writes     ${leakWritesNote(r)}`,
    textTable(writes),
    `paging     ${ok ? 'consistent: every search returned every entry exactly once' : `INCONSISTENT: ${c.searches - c.consistent} of ${c.searches} searches were off`}`,
    textTable(consistency),
  ]
}

function subjectLabel(s: LeakSubject): string {
  return s.pid === null ? `${s.name} (own heap)` : `${s.name} pid ${s.pid}`
}

/** The page-leak-check result as text: run figures, a subject table, latencies, errors (pure). */
export function renderLeakTable(r: PageLeakCheckResult): string {
  const lines: string[] = []
  const perSearch = r.entriesPerSearch === null ? '-' : String(r.entriesPerSearch)
  lines.push(`target     ${r.mode}: ${r.target}`)
  lines.push(
    `run        ${r.searches} ${r.mode === 'keystone' ? 'listings' : 'searches'}, ${r.pages} pages, ` +
      `${r.entries} entries (${perSearch} per search), page size ${r.pageSize || 'unknown'}, ` +
      `${(r.durationMs / 1000).toFixed(1)} s${r.interrupted ? ' (interrupted)' : ''}`,
  )
  lines.push(`threshold  ${formatBytes(r.leakThresholdBytesPerIteration)} per iteration`)

  const t = new Table({
    head: ['subject', 'metric', 'slope/iter', '95% CI', 'start', 'end', 'samples', 'verdict'],
    style: { head: [], border: [] },
  })
  for (const s of r.subjects) {
    t.push([
      subjectLabel(s),
      s.metric,
      signed(s.slopeBytesPerIteration),
      `[${signed(s.ci95[0])}, ${signed(s.ci95[1])}]`,
      formatBytes(s.startBytes),
      formatBytes(s.endBytes),
      String(s.samples),
      s.verdict,
    ])
  }
  lines.push(t.toString())
  for (const s of r.subjects) if (s.note) lines.push(`  ${subjectLabel(s)} ${s.metric}: ${s.note}`)

  const lat = new Table({ head: ['latency ms', 'p50', 'p90', 'p99', 'max'], style: { head: [], border: [] } })
  if (r.pages > 0) {
    const p = r.latencyMs.page
    lat.push(['page', ms(p.p50), ms(p.p90), ms(p.p99), ms(p.max)])
  }
  const q = r.latencyMs.search
  lat.push([r.mode === 'keystone' ? 'listing' : 'search', ms(q.p50), ms(q.p90), ms(q.p99), ms(q.max)])
  lines.push(lat.toString())
  if (r.pages === 0 && r.mode === 'keystone')
    lines.push('  (Keystone pages through LDAP itself: pages are not visible here)')

  lines.push(...writesLines(r))
  const errs = Object.entries(r.errors)
  lines.push(errs.length ? `errors     ${errs.map(([k, v]) => `${k}=${v}`).join(', ')}` : 'errors     none')
  lines.push(`verdict    ${r.verdict.toUpperCase()}`)
  return lines.join('\n')
}
