import { describe, expect, it } from 'vitest'
import { fmtChange, fmtMs } from '../../src/report/format.js'
import { bar, renderSweepChart, renderSweepTable } from '../../src/report/sweep.js'
import { sweepRows } from '../../src/report/table-data.js'
import type { BenchSweepResult } from '../../src/results/types.js'
import { sweepResult } from '../fixtures/results.js'

describe('sweep table and terminal chart', () => {
  const r = sweepResult({ label: 'sqlite' })

  it('has one row per level with the change against the first', () => {
    const rows = sweepRows(r)
    expect(rows.map((x) => x.revocationEvents)).toEqual([0, 1000, 10_000, 30_000])
    expect(rows[0]!.rpsChangePct).toBe(0)
    const expected = ((r.points[3]!.rps - r.points[0]!.rps) / r.points[0]!.rps) * 100
    expect(rows[3]!.rpsChangePct).toBeCloseTo(expected, 9)
    expect(rows[3]!.rpsChangePct!).toBeLessThan(-50)
    const table = renderSweepTable(r)
    expect(table.split('\n').filter((l) => /^│\s+[\d,]+ │/.test(l))).toHaveLength(4)
    expect(table).toContain(fmtChange(expected))
    expect(table).toContain('sweep "sqlite": 4 levels in 95.0 s')
  })

  it('draws bars proportional to the values, the largest full width', () => {
    const chart = renderSweepChart(r, { width: 40 })
    const lines = chart.split('\n')
    const rpsBars = lines.slice(1, 5).map((l) => l.split('│')[1]!.replace(/[^█▏▎▍▌▋▊▉]/g, ''))
    expect(rpsBars[0]).toBe('█'.repeat(40))
    // each bar's length (in eighths) matches its share of the largest value
    const eighths = (s: string) => [...s].reduce((a, c) => a + (c === '█' ? 8 : ' ▏▎▍▌▋▊▉'.indexOf(c)), 0)
    r.points.forEach((p, i) => {
      expect(Math.abs(eighths(rpsBars[i]!) - (p.rps / r.points[0]!.rps) * 320)).toBeLessThanOrEqual(1)
    })
    expect(chart).toContain('p99 latency (ms) by revocation events')
    expect(renderSweepChart(r, { ascii: true })).not.toMatch(/[█▏▎▍▌▋▊▉]/)
  })

  it('handles an empty or interrupted sweep', () => {
    const empty: BenchSweepResult = { ...r, points: [], interrupted: true }
    expect(renderSweepChart(empty)).toBe('(no points measured)')
    expect(renderSweepTable(empty)).toMatch(/interrupted: the points measured so far/)
    const partial = {
      ...r,
      points: [r.points[0]!, { ...r.points[1]!, result: { ...r.points[1]!.result, interrupted: true } }],
    }
    expect(renderSweepTable(partial)).toMatch(/1,000 \(partial\)/)
  })

  it('formats numbers for reading', () => {
    expect(fmtMs(0.4567)).toBe('0.457')
    expect(fmtMs(4.567)).toBe('4.57')
    expect(fmtMs(45.67)).toBe('45.7')
    expect(fmtMs(4567.2)).toBe('4,567')
    expect(fmtChange(-44.4)).toBe('-44%')
    expect(fmtChange(12.5)).toBe('+13%')
    expect(fmtChange(null)).toBe('-')
    expect(bar(0, 10, 20)).toBe('')
    expect(bar(10, 10, 20)).toHaveLength(20)
  })
})
