import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { decodeHistogram } from '../../src/metrics/histogram.js'
import type { BenchValidateResult } from '../../src/results/types.js'
import { benchResult, leakResult, sweepResult } from '../fixtures/results.js'
import { parseJson, runCli } from '../helpers/cli.js'

// runs the built CLI: `npm run build` first
const dir = mkdtempSync(join(tmpdir(), 'idtool-report-cli-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const save = (name: string, value: unknown) => {
  const p = join(dir, name)
  writeFileSync(p, JSON.stringify(value))
  return p
}
const a = save('a.json', benchResult({ seed: 1, n: 1200 }))
const b = save('b.json', benchResult({ seed: 2, n: 800, startedAt: '2026-11-21T12:00:02.000Z' }))
const sweep = save('sweep.json', sweepResult({ label: 'sqlite' }))
const leak = save('leak.json', leakResult())

describe('idtool report', { timeout: 90_000 }, () => {
  it('renders a sweep as a table with its chart', async () => {
    const r = await runCli(['report', sweep])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/revocation events .* rps vs first/)
    expect(r.stdout).toContain('throughput (validations/s) by revocation events')
  })

  it('writes a self-contained HTML file of several results', async () => {
    const out = join(dir, 'r.html')
    const r = await runCli(['report', sweep, a, leak, '--format', 'html', '--out', out, '--title', 'Nightly'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toBe('')
    expect(r.stderr).toContain(`wrote html report of 3 results to ${out}`)
    const html = readFileSync(out, 'utf8')
    expect(html).toMatch(/^<!doctype html>/)
    expect(html).toContain('<title>Nightly</title>')
    expect(html.match(/<svg /g)?.length).toBeGreaterThanOrEqual(6)
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org|127\.0\.0\.1)/)
  })

  it('prints markdown, json and hgrm', async () => {
    const md = await runCli(['report', a, '--format', 'markdown'])
    expect(md.stdout).toMatch(/^## Token validation benchmark/)
    const json = await runCli(['report', leak, '--format', 'json'])
    expect(parseJson<{ kind: string }>(json).kind).toBe('ldap.page-leak-check')
    const hgrm = await runCli(['report', a, '--format', 'hgrm', '--histogram', 'ks1'])
    expect(hgrm.code, hgrm.stderr).toBe(0)
    expect(hgrm.stdout).toMatch(/Value\s+Percentile\s+TotalCount/)
    expect(hgrm.stdout).toMatch(/Total count\s+=\s+600\]/)
  })

  it('exits 2 with one line and a hint on bad input', async () => {
    const missing = await runCli(['report', join(dir, 'nope.json')])
    expect(missing.code).toBe(2)
    expect(missing.stderr).toMatch(
      /^Error: cannot read .*nope.json: no such file or directory \(ENOENT\)\nHint: /,
    )
    const two = await runCli(['report', a, b, '--format', 'hgrm'])
    expect(two.code).toBe(2)
    expect(two.stderr).toMatch(/hgrm renders one histogram/)
    const fmt = await runCli(['report', a, '--format', 'pdf'])
    expect(fmt.code).toBe(2)
    const notResult = save('x.json', { hello: 1 })
    const bad = await runCli(['report', notResult])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/is not an idtool result/)
  })
})

describe('idtool report merge', { timeout: 90_000 }, () => {
  it('merges results into one whose histogram holds every request', async () => {
    const out = join(dir, 'merged.json')
    const r = await runCli(['report', 'merge', a, b, '--out', out])
    expect(r.code, r.stderr).toBe(0)
    const merged = JSON.parse(readFileSync(out, 'utf8')) as BenchValidateResult
    expect(merged.kind).toBe('bench.validate')
    expect(merged.mergedFrom).toBe(2)
    expect(merged.requests.total).toBe(2000)
    expect(decodeHistogram(merged.histogram).totalCount).toBe(2000)
    expect(r.stdout).toContain('merged from 2 results')
    const j = await runCli(['report', 'merge', a, b, '--json'])
    expect(parseJson<BenchValidateResult>(j).requests.total).toBe(2000)
  })

  it('refuses what cannot be merged', async () => {
    const r = await runCli(['report', 'merge', a, sweep])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/bench.validate/)
  })
})
