import { describe, expect, it } from 'vitest'
import { createHistogram, decodeHistogram, encodeHistogram, recordMs } from '../../src/metrics/histogram.js'
import { lineChart, niceTicks } from '../../src/report/html/chart.js'
import { chartIds, spectrumPoints } from '../../src/report/html/sections.js'

describe('html report pieces', () => {
  it('the percentile spectrum never rises above the recorded maximum', () => {
    const h = createHistogram()
    recordMs(h, 123.457, 50)
    recordMs(h, 1.001, 950)
    const encoded = encodeHistogram(h)
    const pts = spectrumPoints(encoded)
    const max = decodeHistogram(encoded).maxValue / 1000
    expect(pts.every((p) => p[1] <= max)).toBe(true)
    expect(pts.at(-1)![1]).toBe(max)
  })

  it('chart ids are numbered per report, with no state shared between reports', () => {
    const a = chartIds()
    const b = chartIds()
    expect([a('spectrum'), a('leak'), b('spectrum')]).toEqual(['spectrum-1', 'leak-2', 'spectrum-1'])
  })

  it('nice ticks cover the data on round steps; a chart draws one path per series', () => {
    expect(niceTicks(0, 97, 6)).toMatchObject({ lo: 0, hi: 100, step: 20 })
    const svg = lineChart({
      id: 'c',
      title: 't',
      xLabel: 'x',
      yLabel: 'y',
      xKind: 'linear',
      series: [
        {
          name: 'a',
          color: '#000',
          points: [
            [0, 1],
            [1, 2],
          ],
        },
        { name: 'empty', color: '#111', points: [] },
      ],
    })
    expect(svg.match(/class="line"/g)).toHaveLength(1)
    expect(svg).not.toContain('empty')
  })
})
