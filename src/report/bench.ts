import Table from 'cli-table3'
import type { BenchValidateResult, Percentiles } from '../results/types.js'
import { msCell as ms, ratioPct } from './format.js'
import { serverMemoryLine, serverMemoryTable } from './table-data.js'
import { textTable } from './text-table.js'

const style = { head: [], border: [] }

function pctRow(label: string, p: Percentiles, count?: number): string[] {
  return [
    label,
    count === undefined ? '' : String(count),
    ms(p.p50),
    ms(p.p90),
    ms(p.p99),
    ms(p.p999),
    ms(p.max),
    ms(p.mean),
  ]
}

function kv(record: Record<string, number>): string {
  const keys = Object.keys(record)
  return keys.length ? keys.map((k) => `${k}=${record[k]}`).join('  ') : '-'
}

/** The `bench validate` result as text tables (pure: result in, text out). */
export function renderBenchValidateTable(r: BenchValidateResult): string {
  const out: string[] = []
  const load =
    r.model === 'open'
      ? `open model, ${r.rate} req/s on a fixed schedule, ${r.connections} connections`
      : `closed model, concurrency ${r.concurrency}, ${r.connections} connections`
  out.push(`${r.method} ${r.target}`)
  const client = r.httpClient ? `, ${r.httpClient === 'h1' ? 'lean HTTP/1.1' : r.httpClient} client` : ''
  out.push(
    `${load}${client}, started ${r.startedAt}${r.interrupted ? '  (INTERRUPTED: partial result)' : ''}`,
  )
  if (r.mergedFrom) out.push(`merged from ${r.mergedFrom} results`)
  if (r.shard)
    out.push(
      `shard ${r.shard.index}/${r.shard.count} from ${r.shard.host}${r.shard.sourceAddress ? ` (${r.shard.sourceAddress})` : ''}${r.shard.startSkewMs !== null ? `, started ${r.shard.startSkewMs} ms after --start-at` : ''}`,
    )
  if (r.shards)
    out.push(
      r.partial
        ? `PARTIAL: shards ${r.shards.indices.join(', ')} of ${r.shards.count} only, not the whole load`
        : `all ${r.shards.count} shards of one load`,
    )

  const summary = new Table({ style })
  const q = r.requests
  const f = r.failures
  summary.push(
    { duration: `${(r.durationMs / 1000).toFixed(2)} s` },
    // results with `failures` count only the expected answers in throughput and latency
    { throughput: `${r.throughput.rps.toFixed(1)} ${f ? 'expected answers' : 'answers'}/s` },
    {
      requests: `${q.total} total, ${q.ok} as expected, ${q.unexpectedStatus} unexpected status, ${q.errors} transport errors`,
    },
  )
  if (f)
    summary.push({
      failures: `${f.count} (${ratioPct(f.rate)} of requests, ${f.rps.toFixed(1)}/s): ${q.unexpectedStatus} unexpected answers + ${q.errors} transport errors, not in throughput or latency`,
    })
  if (q.late !== undefined) summary.push({ 'late sends': String(q.late) })
  summary.push({ 'status codes': kv(r.statusCodes) }, { errors: kv(r.errors) })
  if (r.warmup)
    summary.push({
      warmup: `${(r.warmup.durationMs / 1000).toFixed(2)} s, ${r.warmup.requests} requests (not measured)`,
    })
  out.push(summary.toString())

  const lat = new Table({
    head: ['latency (ms)', 'count', 'p50', 'p90', 'p99', 'p99.9', 'max', 'mean'],
    style,
  })
  if (f) {
    // expected answers only; a run with none has no latency to show
    const none = q.ok === 0
    lat.push(
      none
        ? ['expected answers', '0', '-', '-', '-', '-', '-', '-']
        : pctRow(
            r.model === 'open' ? 'expected answers, from intended send (corrected)' : 'expected answers',
            r.latencyMs,
            q.ok,
          ),
    )
    if (r.latencyUncorrectedMs && !none)
      lat.push(pctRow('expected answers, from actual send (uncorrected)', r.latencyUncorrectedMs))
  } else {
    lat.push(
      pctRow(
        r.model === 'open' ? 'from intended send (corrected)' : 'all answers',
        r.latencyMs,
        q.total - q.errors,
      ),
    )
    if (r.latencyUncorrectedMs) lat.push(pctRow('from actual send (uncorrected)', r.latencyUncorrectedMs))
  }
  if (r.cold) lat.push(pctRow('cold (first validation of a token)', r.cold.latencyMs, r.cold.count))
  if (r.warm) lat.push(pctRow('warm (repeat validations)', r.warm.latencyMs, r.warm.count))
  if (f?.latencyMs) lat.push(pctRow('failures (unexpected answers, transport errors)', f.latencyMs))
  out.push(lat.toString())

  const names = Object.keys(r.backends)
  if (names.length > 0) {
    const bt = new Table({
      head: ['backend', 'answers', f ? 'unexpected' : 'errors', 'p50', 'p90', 'p99', 'max'],
      style,
    })
    for (const name of names) {
      const b = r.backends[name]!
      // with `failures`, a backend's latencies are those of its expected answers: none, no latency
      const none = f !== undefined && b.count - b.errors <= 0
      const cell = (v: number | undefined) => (none ? '-' : ms(v))
      bt.push([
        name,
        String(b.count),
        String(b.errors),
        cell(b.latencyMs.p50),
        cell(b.latencyMs.p90),
        cell(b.latencyMs.p99),
        cell(b.latencyMs.max),
      ])
    }
    out.push(bt.toString())
  }
  if (r.memory) out.push(serverMemoryLine(r.memory), textTable(serverMemoryTable(r.memory, '-')))
  return out.join('\n')
}
