import type { SweepEvent } from '../bench/sweep.js'
import type { ValidateEvent, ValidateProgress } from '../bench/validate.js'
import { fmtChange, fmtDuration, fmtMs, fmtRps, groupDigits } from '../report/format.js'

import type { ProgressSink } from './progress-sink.js'

export { Progress, type ProgressSink, silentProgress } from './progress-sink.js'

/** Format a duration in ms as a short human string (report/format.ts's one duration format). */
export const formatMs = fmtDuration

/** The progress line of `ldap page-leak-check` (its one event type, ldap/page-leak-check.ts). */
export function leakProgressLine(p: import('../ldap/page-leak-check.js').LeakProgress): string {
  const what = p.mode === 'keystone' ? 'listings' : 'searches'
  if (p.phase === 'probe') return `probe ${p.mode === 'keystone' ? 'listing' : 'search'}...`
  if (p.phase === 'warmup') return `warm-up ${p.done}/${p.total} ${what}`
  if (p.phase === 'write-baseline')
    return `baseline writes ${p.done} (${formatMs(p.elapsedMs)} of ${formatMs(p.durationMs ?? 0)}), ${p.errors} errors`
  const of = p.total !== undefined ? `/${p.total}` : ''
  const time =
    p.durationMs !== undefined
      ? ` (${formatMs(p.elapsedMs)} of ${formatMs(p.durationMs)})`
      : ` (${formatMs(p.elapsedMs)})`
  const last = p.lastSearchMs !== undefined ? `, last ${p.lastSearchMs.toFixed(1)} ms` : ''
  return `measuring ${p.done}${of} ${what}${time}, ${p.errors} errors${last}, memory every ${p.sampleEvery}`
}

/**
 * The line an engine event shows: `live` is redrawn in place on the progress sink; `keep` (an info line) and
 * `warn` (a warning) stay in the log, the live line cleared first. undefined: nothing to show.
 */
export type EventLine = { live: string } | { keep: string } | { warn: string } | undefined

/** Where event lines go: the command's progress sink and its stderr log. */
export interface EventOutput {
  progress: ProgressSink
  info(text: string): void
  warn(text: string): void
}

/** An event callback for a library: each event formatted by `format` and shown on `out`. */
export function showEvents<E>(format: (e: E) => EventLine, out: EventOutput): (e: E) => void {
  return (e) => {
    const line = format(e)
    if (!line) return
    if ('live' in line) return out.progress.update(line.live)
    out.progress.done()
    if ('keep' in line) out.info(line.keep)
    else out.warn(line.warn)
  }
}

/** One live progress line of a validation run. */
export function formatValidateProgress(p: ValidateProgress): string {
  const planned = p.plannedMs
    ? `/${formatMs(p.plannedMs)}`
    : p.plannedRequests
      ? ` (${p.plannedRequests} planned)`
      : ''
  return [
    `${p.phase} ${formatMs(p.elapsedMs)}${planned}`,
    `${p.completed} answers`,
    `${Math.round(p.rps)}/s`,
    `p50 ${p.p50Ms.toFixed(2)}ms p99 ${p.p99Ms.toFixed(2)}ms`,
    `errors ${p.errors}`,
    `unexpected ${p.unexpectedStatus}`,
    `late ${p.late}`,
    `in flight ${p.inFlight}`,
  ].join('  ')
}

/** The lines of `bench validate`. */
export function validateEventLine(e: ValidateEvent): EventLine {
  switch (e.type) {
    case 'issuing':
      return { live: `issuing tokens ${e.issued}/${e.total}` }
    case 'issued':
      if (e.count === 0) return undefined
      return {
        keep: `issued ${e.count} tokens in ${formatMs(e.durationMs)}${e.file ? ` into ${e.file}` : ''}`,
      }
    case 'run':
      return { live: formatValidateProgress(e.progress) }
  }
}

/** The lines of `bench sweep`. */
export function sweepEventLine(e: SweepEvent): EventLine {
  switch (e.type) {
    case 'start':
      return {
        keep: `sweep over ${e.levels.map(groupDigits).join(', ')} revocation events (${e.via === 'seed' ? 'seeded into the lab database' : 'through the API'}); ${groupDigits(e.events)} now`,
      }
    case 'above-first-level':
      return {
        warn: `the target already has ${groupDigits(e.apiEvents)} revocation events made through the API, above the first level ${groupDigits(e.first)}: lower levels are measured at that count${e.via === 'seed' ? ' (`idtool lab clear-revocations` removes them)' : ''}`,
      }
    case 'issuing':
      return { live: `issuing tokens ${e.issued}/${e.total}` }
    case 'issued':
      if (e.count === 0) return undefined
      return { keep: `issued ${e.count} tokens in ${formatMs(e.durationMs)} (used at every level)` }
    case 'priming':
      return { live: `priming: ${e.validated}/${e.total} tokens validated once` }
    case 'primed':
      return {
        keep: `primed: every token validated once (${groupDigits(e.requests)} requests, not measured)`,
      }
    case 'seeding':
      return { live: `seeding revocation events: ${groupDigits(e.inserted)} inserted` }
    case 'revoking': {
      const p = e.progress
      return {
        live: `revoke-bulk: ${p.phase} ${p.done}/${p.total} (${Math.round(p.ratePerSec)}/s, ${p.failed} failed)`,
      }
    }
    case 'bench': {
      const p = e.progress
      return {
        live: `${groupDigits(e.level)} events: ${p.phase} ${formatMs(p.elapsedMs)} ${p.completed} answers ${Math.round(p.rps)}/s p99 ${p.p99Ms.toFixed(1)}ms errors ${p.errors + p.unexpectedStatus}`,
      }
    }
    case 'level':
      return { live: `level ${e.index + 1}/${e.total}: ${groupDigits(e.level)} events` }
    case 'events': {
      const c = e.change
      const how = c.added
        ? `+${groupDigits(c.added)}`
        : c.removed
          ? `-${groupDigits(c.removed)}`
          : 'unchanged'
      return {
        keep: `level ${groupDigits(e.level)}: ${groupDigits(c.before)} -> ${groupDigits(c.after)} events (${how}, ${formatMs(c.durationMs)})`,
      }
    }
    case 'point': {
      const p = e.point
      const vs =
        e.index === 0 ? '' : `, ${fmtChange(((p.rps - e.first.rps) / (e.first.rps || 1)) * 100)} rps vs first`
      return {
        keep: `  ${groupDigits(p.revocationEvents)} events: ${fmtRps(p.rps)} rps, p50 ${fmtMs(p.latencyMs.p50)} ms, p99 ${fmtMs(p.latencyMs.p99)} ms, ${p.errors} errors${vs}`,
      }
    }
    case 'stopped':
      return undefined
  }
}

/** The lines of `bench mixed` (bench/mixed.ts). */
export function mixedEventLine(e: import('../bench/mixed.js').MixedEvent): EventLine {
  switch (e.type) {
    case 'seeding':
      return { live: `seeding expired revocation events ${groupDigits(e.inserted)}/${groupDigits(e.total)}` }
    case 'seeded':
      return { keep: `seeded ${groupDigits(e.count)} expired revocation events in ${formatMs(e.durationMs)}` }
    case 'issuing':
      return {
        live: `issuing ${e.purpose === 'validate' ? 'validation' : 'revocation'} tokens ${e.issued}/${e.total}`,
      }
    case 'issued':
      return {
        keep: `issued ${e.count} tokens to ${e.purpose === 'validate' ? 'validate' : 'revoke'} in ${formatMs(e.durationMs)}`,
      }
    case 'phase':
      return {
        keep: `phase ${e.phase}: ${e.events === null ? '?' : groupDigits(e.events)} revocation events`,
      }
    case 'run': {
      const { phase, engine: p, revocations: r } = e.progress
      const revoking = phase === 'during' ? `  revoked ${r.sent}/${r.planned} (${r.failed} failed)` : ''
      return {
        live: `${phase}${p.phase === 'warmup' ? ' warm-up' : ''} ${formatMs(p.elapsedMs)}${p.plannedMs ? `/${formatMs(p.plannedMs)}` : ''}  ${p.completed} validations  ${Math.round(p.rps)}/s  p99 ${p.p99Ms.toFixed(1)}ms  failures ${p.errors + p.unexpectedStatus}${revoking}`,
      }
    }
    case 'phase-done': {
      const ph = e.phase
      return {
        keep: `  ${ph.name}: ${groupDigits(ph.requests.total)} validations, ${fmtRps(ph.throughput.rps)} rps, p50 ${fmtMs(ph.latencyMs.p50)} ms, p99 ${fmtMs(ph.latencyMs.p99)} ms, ${ph.requests.errors + ph.requests.unexpectedStatus} failures`,
      }
    }
  }
}
