import { describe, expect, it } from 'vitest'
import type { SweepPoint } from '../../src/bench/sweep.js'
import {
  type EventLine,
  formatValidateProgress,
  type ProgressSink,
  showEvents,
  sweepEventLine,
  validateEventLine,
} from '../../src/cli/progress.js'

const progress = {
  phase: 'measure' as const,
  elapsedMs: 3200,
  plannedMs: 10_000,
  plannedRequests: null,
  issued: 1240,
  completed: 1234,
  inFlight: 6,
  late: 2,
  ok: 1230,
  errors: 1,
  unexpectedStatus: 3,
  rps: 385.4,
  p50Ms: 9.123,
  p99Ms: 12.3,
}

describe('formatValidateProgress', () => {
  it('one line with phase, time, counts, rate, percentiles, errors, late sends and in-flight', () => {
    const line = formatValidateProgress(progress)
    expect(line).toBe(
      'measure 3.2s/10.0s  1234 answers  385/s  p50 9.12ms p99 12.30ms  errors 1  unexpected 3  late 2  in flight 6',
    )
    expect(line).not.toContain('\n')
    expect(formatValidateProgress({ ...progress, plannedMs: null, plannedRequests: 4000 })).toMatch(
      /^measure 3\.2s \(4000 planned\)/,
    )
  })
})

describe('validateEventLine', () => {
  it('issuing is live, issued is kept (naming the pool file when there is one), the run is live', () => {
    expect(validateEventLine({ type: 'issuing', issued: 3, total: 10 })).toEqual({
      live: 'issuing tokens 3/10',
    })
    expect(validateEventLine({ type: 'issued', count: 10, durationMs: 1500 })).toEqual({
      keep: 'issued 10 tokens in 1.5s',
    })
    expect(validateEventLine({ type: 'issued', count: 10, durationMs: 80, file: 'p.jsonl' })).toEqual({
      keep: 'issued 10 tokens in 80ms into p.jsonl',
    })
    expect(validateEventLine({ type: 'issued', count: 0, durationMs: 1 })).toBeUndefined()
    expect(validateEventLine({ type: 'run', progress })).toEqual({ live: formatValidateProgress(progress) })
  })
})

describe('sweepEventLine', () => {
  const point = (revocationEvents: number, rps: number): SweepPoint =>
    ({ revocationEvents, rps, latencyMs: { p50: 2.5, p99: 12.25 }, errors: 0 }) as SweepPoint

  it('says what the sweep does, level by level', () => {
    expect(sweepEventLine({ type: 'start', levels: [0, 10_000], via: 'seed', events: 1234 })).toEqual({
      keep: 'sweep over 0, 10,000 revocation events (seeded into the lab database); 1,234 now',
    })
    expect(sweepEventLine({ type: 'above-first-level', apiEvents: 2000, first: 0, via: 'api' })).toEqual({
      warn: 'the target already has 2,000 revocation events made through the API, above the first level 0: lower levels are measured at that count',
    })
    expect(sweepEventLine({ type: 'primed', requests: 1500 })).toEqual({
      keep: 'primed: every token validated once (1,500 requests, not measured)',
    })
    expect(sweepEventLine({ type: 'level', index: 0, total: 3, level: 2000 })).toEqual({
      live: 'level 1/3: 2,000 events',
    })
    const change = { before: 0, after: 25, added: 25, removed: 0, durationMs: 1200, via: 'api' as const }
    expect(sweepEventLine({ type: 'events', level: 25, change })).toEqual({
      keep: 'level 25: 0 -> 25 events (+25, 1.2s)',
    })
    const first = point(0, 400)
    expect(sweepEventLine({ type: 'point', index: 1, point: point(2000, 300), first })).toEqual({
      keep: '  2,000 events: 300.0 rps, p50 2.50 ms, p99 12.3 ms, 0 errors, -25% rps vs first',
    })
    expect(sweepEventLine({ type: 'bench', level: 2000, progress })).toEqual({
      live: '2,000 events: measure 3.2s 1234 answers 385/s p99 12.3ms errors 4',
    })
    expect(sweepEventLine({ type: 'stopped', reason: 'interrupted' })).toBeUndefined()
  })
})

describe('showEvents', () => {
  it('draws live lines, clears them before a kept line or a warning', () => {
    const out: string[] = []
    const sink: ProgressSink = { update: (t) => out.push(`live:${t}`), done: () => out.push('done') }
    const show = showEvents((e: EventLine) => e, {
      progress: sink,
      info: (t) => out.push(`info:${t}`),
      warn: (t) => out.push(`warn:${t}`),
    })
    show({ live: 'a' })
    show({ keep: 'b' })
    show({ warn: 'c' })
    show(undefined)
    expect(out).toEqual(['live:a', 'done', 'info:b', 'done', 'warn:c'])
  })
})
