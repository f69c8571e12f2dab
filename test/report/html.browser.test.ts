import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { type Browser, chromium } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { renderHtml } from '../../src/report/html/page.js'
import { benchResult, gateResult, leakResult, revokeResult, sweepResult } from '../fixtures/results.js'

const CHROMIUM = '/usr/bin/chromium'
const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url))

/**
 * The HTML report in a real headless Chromium: every chart renders as SVG with drawn lines, nothing is
 * fetched from the network, the console stays clean. Screenshots go to test-artifacts/.
 */
describe.skipIf(!existsSync(CHROMIUM))('HTML report in headless Chromium', () => {
  let browser: Browser
  const dir = mkdtempSync(join(tmpdir(), 'idtool-html-'))
  const file = join(dir, 'report.html')

  beforeAll(async () => {
    const html = renderHtml(
      [
        { result: sweepResult({ label: 'sqlite, no ANALYZE' }), source: 'sqlite.json' },
        {
          result: sweepResult({ label: 'sqlite after ANALYZE', flat: true, seed: 30 }),
          source: 'analyzed.json',
        },
        { result: benchResult({ seed: 1 }), source: 'bench.json' },
        { result: benchResult({ seed: 2, model: 'open' }), source: 'bench-open.json' },
        { result: leakResult(), source: 'leak.json' },
        { result: revokeResult(), source: 'revoke.json' },
        { result: gateResult(), source: 'gate.json' },
      ],
      { title: 'idtool report (browser test)' },
    )
    writeFileSync(file, html)
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    })
  }, 60_000)

  afterAll(async () => {
    await browser?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('renders every chart with axes, labels and non-empty lines, offline and without console errors', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
    const problems: string[] = []
    const requests: string[] = []
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`)
    })
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`))
    page.on('request', (r) => requests.push(r.url()))
    await page.goto(pathToFileURL(file).href)
    await page.waitForLoadState('load')

    const charts = await page.$$eval('svg.chart', (svgs) =>
      svgs.map((svg) => {
        const box = svg.getBoundingClientRect()
        const lines = [...svg.querySelectorAll('path.line')].map((p) => {
          const d = p.getAttribute('d') ?? ''
          return {
            d: d.length,
            segments: (d.match(/L/g) ?? []).length,
            length: (p as unknown as { getTotalLength(): number }).getTotalLength(),
          }
        })
        const markers = svg.querySelectorAll('path.markers').length
        return {
          id: svg.id,
          width: box.width,
          height: box.height,
          title: svg.querySelector('title')?.textContent ?? '',
          xLabel: svg.querySelector('text.x-label')?.textContent ?? '',
          yLabel: svg.querySelector('text.y-label')?.textContent ?? '',
          ticks: svg.querySelectorAll('g.ticks text').length,
          legend: svg.querySelectorAll('g.legend text').length,
          lines,
          markers,
        }
      }),
    )
    // 2 sweep overlays + a spectrum per sweep + one per bench + 2 leak subjects + the LDAP spectrum
    expect(charts.map((c) => c.id.replace(/-\d+$/, ''))).toEqual([
      'sweep-rps',
      'sweep-latency',
      'sweep-spectrum',
      'sweep-spectrum',
      'spectrum',
      'spectrum',
      'leak',
      'leak',
      'ldap-spectrum',
    ])
    for (const c of charts) {
      expect(c.width, c.id).toBeGreaterThan(600)
      expect(c.height, c.id).toBeGreaterThan(300)
      expect(c.title, c.id).not.toBe('')
      expect(c.xLabel, c.id).toMatch(/\S/)
      expect(c.yLabel, c.id).toMatch(/\((ms|validations\/s|MiB|KiB)\)$/)
      expect(c.ticks, c.id).toBeGreaterThanOrEqual(6)
      expect(c.lines.length + c.markers, c.id).toBeGreaterThan(0)
      for (const l of c.lines) {
        expect(l.d, c.id).toBeGreaterThan(10)
        expect(l.length, c.id).toBeGreaterThan(50)
      }
    }
    // one line per backend (+ all, + uncorrected for the open model) in the bench spectra
    const spectra = charts.filter((c) => c.id.startsWith('spectrum-'))
    expect(spectra.map((c) => c.lines.length)).toEqual([3, 4])
    expect(spectra[0]!.lines.every((l) => l.segments > 100)).toBe(true)
    // the sweep charts overlay both sweeps; the latency one has p99 and p50 for each
    expect(charts[0]!.lines).toHaveLength(2)
    expect(charts[1]!.lines).toHaveLength(4)
    // the percentile axis is labelled like HdrHistogram's plotter
    const spectrumTicks = await page.$$eval('svg[id^="spectrum-"] g.ticks text', (ts) =>
      ts.map((t) => t.textContent),
    )
    expect(spectrumTicks).toEqual(expect.arrayContaining(['0%', '90%', '99%', '99.9%']))

    expect(problems).toEqual([])
    expect(requests.filter((u) => !u.startsWith('file:'))).toEqual([])

    mkdirSync(ARTIFACTS, { recursive: true })
    const full = join(ARTIFACTS, 'report-html.png')
    await page.screenshot({ path: full, fullPage: true })
    await (await page.$('svg.chart'))!.screenshot({ path: join(ARTIFACTS, 'report-html-sweep.png') })
    await (await page.$('svg[id^="spectrum-"]'))!.screenshot({
      path: join(ARTIFACTS, 'report-html-spectrum.png'),
    })
    expect(statSync(full).size).toBeGreaterThan(50_000)
    await page.close()
  }, 60_000)

  it('stays readable at print width', async () => {
    const page = await browser.newPage({ viewport: { width: 700, height: 1000 } })
    await page.emulateMedia({ media: 'print' })
    await page.goto(pathToFileURL(file).href)
    const widths = await page.$$eval('svg.chart', (svgs) => svgs.map((s) => s.getBoundingClientRect().width))
    for (const w of widths) expect(w).toBeLessThanOrEqual(700)
    // axis labels keep a legible size once the chart is scaled to the page (at least 10 px)
    const px = await page.$eval('svg.chart text.x-label', (t) => t.getBoundingClientRect().height)
    expect(px).toBeGreaterThanOrEqual(10)
    mkdirSync(ARTIFACTS, { recursive: true })
    await page.screenshot({ path: join(ARTIFACTS, 'report-html-print.png') })
    await page.close()
  }, 60_000)
})
