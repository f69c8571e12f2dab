import type { BenchMixedResult } from '../results/types.js'
import { count, fmtMs, fmtRps, secs } from './format.js'
import { serverMemoryLine, serverMemoryTable, type TableData } from './table-data.js'
import { textTable } from './text-table.js'

// `bench mixed` as tables (pure: result in, tables out): one row per phase, one row of revocations, the
// failure kinds. The text, Markdown and HTML renderers lay out the same data.

const ms = (v: number | undefined, missing: string) => (v === undefined ? missing : fmtMs(v))

/** One line: target, rates, phases, seeded events. */
export function mixedSummaryLine(r: BenchMixedResult): string {
  const phases = r.phases.map((p) => `${p.name} ${secs(p.durationMs)}`).join(', ')
  return (
    `${r.method} ${r.target}: ${r.rate} validations/s (${r.connections} connections), ` +
    `${r.revocations.rate} revocations/s during "during"; ${phases || 'no phase run'}` +
    `${r.expiredEvents ? `; ${count(r.expiredEvents, '-')} expired events seeded first` : ''}` +
    `${r.interrupted ? ' (interrupted: partial)' : ''}`
  )
}

/** The validations of each phase, with the revocation event count at its start and end. */
export function mixedPhasesTable(r: BenchMixedResult, missing: string): TableData {
  return {
    head: ['phase', 'validations', 'rps', 'p50 ms', 'p99 ms', 'max ms', 'unexpected', 'errors', 'events'],
    rows: r.phases.map((p) => [
      p.name,
      count(p.requests.total, missing),
      fmtRps(p.throughput.rps),
      ms(p.latencyMs.p50, missing),
      ms(p.latencyMs.p99, missing),
      ms(p.latencyMs.max, missing),
      count(p.requests.unexpectedStatus, missing),
      count(p.requests.errors, missing),
      `${count(p.revocationEvents.start, missing)} -> ${count(p.revocationEvents.end, missing)}`,
    ]),
    numeric: [1, 2, 3, 4, 5, 6, 7],
  }
}

/** The revocations: how many, their latency, their failures. */
export function mixedRevocationsTable(r: BenchMixedResult, missing: string): TableData {
  const v = r.revocations
  return {
    head: ['revocations', 'sent', 'revoked', 'failed', 'rps', 'p50 ms', 'p99 ms', 'max ms'],
    rows: [
      [
        `${v.rate}/s`,
        count(v.sent, missing),
        count(v.revoked, missing),
        count(v.failed, missing),
        fmtRps(v.throughput.rps),
        ms(v.latencyMs?.p50, missing),
        ms(v.latencyMs?.p99, missing),
        ms(v.latencyMs?.max, missing),
      ],
    ],
    numeric: [1, 2, 3, 4, 5, 6, 7],
  }
}

/** The failed revocations by kind (every kind, zeros included), with the first message of each. */
export function mixedFailuresTable(r: BenchMixedResult, missing: string): TableData {
  return {
    head: ['failure kind', 'count', 'first message'],
    rows: Object.entries(r.revocations.failures).map(([k, n]) => [
      k,
      count(n, missing),
      r.revocations.failureExamples[k as keyof typeof r.revocations.failureExamples] ?? missing,
    ]),
    numeric: [1],
  }
}

const text = textTable

/** The `bench mixed` result as text tables. */
export function renderMixedTable(r: BenchMixedResult): string {
  const out = [mixedSummaryLine(r), text(mixedPhasesTable(r, '-')), text(mixedRevocationsTable(r, '-'))]
  if (r.revocations.failed > 0) out.push(text(mixedFailuresTable(r, '-')))
  else out.push('revocation failures: none')
  if (r.memory) out.push(serverMemoryLine(r.memory), text(serverMemoryTable(r.memory, '-')))
  return out.join('\n')
}
