import { describe, expect, it } from 'vitest'
import { runSweep, type SweepEvent, SweepFailed } from '../../src/bench/sweep.js'
import type { LevelChange } from '../../src/bench/sweep-drivers.js'
import { HttpError } from '../../src/errors.js'
import type { BenchValidateResult } from '../../src/results/types.js'
import { benchResult } from '../fixtures/results.js'

/** A driver over a simulated event count: validation slows down linearly with the events. */
function simulated(
  opts: { start?: number; failAt?: number; abortAt?: { level: number; ac: AbortController } } = {},
) {
  let events = opts.start ?? 0
  const calls: string[] = []
  return {
    calls,
    driver: {
      async bringTo(level: number): Promise<LevelChange> {
        calls.push(`bring ${level}`)
        const before = events
        events = Math.max(events, level)
        return {
          before,
          after: events,
          added: events - before,
          removed: 0,
          durationMs: 1,
          via: 'seed' as const,
        }
      },
      async bench(level: number): Promise<BenchValidateResult> {
        calls.push(`bench ${level}`)
        if (opts.failAt === level) throw new HttpError(503, 'Keystone failed to validate (503)')
        const r = benchResult({ seed: level + 1, n: 400, base: 5 + events / 1000 })
        if (opts.abortAt?.level === level) {
          opts.abortAt.ac.abort()
          return { ...r, interrupted: true, requests: { ...r.requests, total: 120 } }
        }
        return r
      },
    },
  }
}

describe('runSweep', () => {
  it('brings each level then measures it, in ascending order, one point per level', async () => {
    const sim = simulated()
    const events: SweepEvent['type'][] = []
    const r = await runSweep(
      { levels: [0, 1000, 10_000], label: 'x', onEvent: (e) => events.push(e.type) },
      sim.driver,
    )
    expect(sim.calls).toEqual([
      'bring 0',
      'bench 0',
      'bring 1000',
      'bench 1000',
      'bring 10000',
      'bench 10000',
    ])
    expect(r.kind).toBe('bench.sweep')
    expect(r.version).toBe(3)
    expect(r.label).toBe('x')
    expect(r.interrupted).toBe(false)
    expect(r.points.map((p) => p.revocationEvents)).toEqual([0, 1000, 10_000])
    // the point repeats the figures of its full bench result
    for (const p of r.points) {
      expect(p.rps).toBe(p.result.throughput.rps)
      expect(p.latencyMs).toEqual({ p50: p.result.latencyMs.p50, p99: p.result.latencyMs.p99 })
      expect(p.errors).toBe(p.result.requests.errors + p.result.requests.unexpectedStatus)
    }
    expect(r.points[2]!.latencyMs.p50).toBeGreaterThan(r.points[0]!.latencyMs.p50)
    expect(events.filter((t) => t === 'point')).toHaveLength(3)
  })

  it('records the count actually reached when it is above the level', async () => {
    const sim = simulated({ start: 56 })
    const r = await runSweep({ levels: [0, 200] }, sim.driver)
    expect(r.points.map((p) => p.revocationEvents)).toEqual([56, 200])
  })

  it('keeps the points measured so far, and the partial one, on Ctrl-C', async () => {
    const ac = new AbortController()
    const sim = simulated({ abortAt: { level: 1000, ac } })
    const r = await runSweep({ levels: [0, 1000, 10_000, 30_000], signal: ac.signal }, sim.driver)
    expect(r.interrupted).toBe(true)
    expect(r.points.map((p) => p.revocationEvents)).toEqual([0, 1000])
    expect(r.points[1]!.result.interrupted).toBe(true)
    expect(sim.calls).not.toContain('bring 10000')
  })

  it('stops before anything when already interrupted', async () => {
    const ac = new AbortController()
    ac.abort()
    const sim = simulated()
    const r = await runSweep({ levels: [0, 1000], signal: ac.signal }, sim.driver)
    expect(r.points).toEqual([])
    expect(r.interrupted).toBe(true)
    expect(sim.calls).toEqual([])
  })

  it('fails with the partial result attached, keeping the exit code of the cause', async () => {
    const sim = simulated({ failAt: 10_000 })
    const err = await runSweep({ levels: [0, 1000, 10_000, 30_000] }, sim.driver).catch((e) => e)
    expect(err).toBeInstanceOf(SweepFailed)
    expect((err as SweepFailed).partial.points.map((p) => p.revocationEvents)).toEqual([0, 1000])
    expect((err as SweepFailed).exitCode).toBe(1)
    expect((err as SweepFailed).message).toMatch(/10000 events: Keystone failed/)
  })

  it('refuses levels that are not ascending', async () => {
    await expect(runSweep({ levels: [1000, 0] }, simulated().driver)).rejects.toThrow(/ascending/)
  })
})
