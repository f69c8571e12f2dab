import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { GateResult } from '../../src/results/types.js'
import { benchResultFrom, latencies, leakResult } from '../fixtures/results.js'
import { type CliResult, parseJson, runCli, runCliEach } from '../helpers/cli.js'

// Runs the built CLI: `npm run build` first.
const dir = mkdtempSync(join(tmpdir(), 'idtool-gate-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const file = (name: string, data: unknown) => {
  const p = join(dir, name)
  writeFileSync(p, typeof data === 'string' ? data : JSON.stringify(data))
  return p
}
const r1 = file('r1.json', benchResultFrom(latencies(2000, 1, 10), { startedAt: '2026-01-01T00:00:00Z' }))
const r2 = file('r2.json', benchResultFrom(latencies(2000, 2, 10), { startedAt: '2026-01-01T00:00:01Z' }))

describe('idtool gate', () => {
  it('exits 3 on a failed threshold and writes JUnit naming the check', async () => {
    const junit = join(dir, 'j.xml')
    const md = join(dir, 'g.md')
    const r = await runCli([
      'gate',
      r1,
      '--threshold',
      'p99 < 1ms',
      '--threshold',
      'errors.rate < 1%',
      '--junit',
      junit,
      '--markdown',
      md,
    ])
    expect(r.code, r.stderr).toBe(3)
    expect(r.stdout).toMatch(/FAIL.*p99 < 1ms/)
    // the two thresholds and the default failure-rate check
    expect(r.stdout).toMatch(/pass.*failures\.rate < 1% \(default\)/)
    expect(r.stdout).toContain('gate: FAILED (1 of 3 checks failed)')
    const xml = readFileSync(junit, 'utf8')
    expect(xml).toMatch(
      /<testcase name="p99 &lt; 1ms" classname="idtool.gate.threshold" time="0">\s*<failure /,
    )
    expect(xml).toMatch(
      /<testcase name="failures.rate &lt; 1% \(default\)" classname="idtool.gate.threshold" time="0">\s*<system-out>/,
    )
    execFileSync('xmllint', ['--noout', '--schema', '/work/shared/schemas/junit-10.xsd', junit], {
      stdio: 'pipe',
    })
    expect(readFileSync(md, 'utf8')).toMatch(/^## idtool gate\n\nGate: \*\*FAILED\*\* \(1 input\)/)
  })

  it('exits 0 when every check passes and prints the typed result with --json', async () => {
    const r = await runCli([
      'gate',
      r1,
      r2,
      '--threshold',
      'p99 < 10s',
      '--threshold',
      'backends.*.p99 < 10s',
      '--json',
    ])
    expect(r.code, r.stderr).toBe(0)
    const g = parseJson<GateResult>(r)
    expect(g).toMatchObject({ version: 1, kind: 'gate', passed: true, inputs: [r1, r2], baselines: [] })
    expect(g.checks.map((c) => [c.name, c.kind, c.passed])).toEqual([
      ['p99 < 10s', 'threshold', true],
      ['backends.*.p99 < 10s', 'threshold', true],
      ['failures.rate < 1% (default)', 'threshold', true],
    ])
  })

  it('compares with a baseline and shows baseline, current and change', async () => {
    const slow = file(
      'slow.json',
      benchResultFrom(latencies(2000, 3, 20), { startedAt: '2026-01-02T00:00:00Z' }),
    )
    const r = await runCli(['gate', slow, '--baseline', r1, '--max-regression', 'p99=10%'])
    expect(r.code, r.stderr).toBe(3)
    expect(r.stdout).toMatch(/baseline.*change/)
    expect(r.stdout).toMatch(/FAIL.*p99 vs baseline/)
    expect(r.stdout).toMatch(/noise unknown/)
  })

  it('takes thresholds from a scenario', async () => {
    const r = await runCli(['gate', r1, '--scenario', 'scenarios/ci-smoke.yaml', '--json'])
    expect(r.code, r.stderr).toBe(0)
    expect(parseJson<GateResult>(r).checks.map((c) => c.name)).toContain('backends.*.p99 < 2s')
  })

  it('exits 2 for unusable input', async () => {
    const leak = file('leak.json', leakResult())
    const notJson = file('bad.json', '{nope')
    const cases: Array<[string[], RegExp]> = [
      [['gate', join(dir, 'missing.json'), '-t', 'p99 < 1s'], /cannot read .*missing\.json: no such file/],
      [['gate', r1, leak, '-t', 'p99 < 1s'], /mixed result kinds/],
      [['gate', notJson, '-t', 'p99 < 1s'], /is not JSON/],
      [['gate', r1, '-t', 'p99 =< 1s'], /bad threshold "p99 =< 1s": unknown operator/],
      [['gate', r1, '-t', 'p98 < 1s'], /unknown metric "p98"/],
      [['gate', r1], /nothing to check/],
      [['gate', r1, '--baseline', leak], /mixed result kinds/],
      [
        ['gate', leak, '--scenario', 'scenarios/ci-smoke.yaml'],
        /ci-smoke\.yaml is a "bench validate" scenario/,
      ],
    ]
    const results = await runCliEach(cases.map(([args]) => ({ args })))
    for (const [i, [args, re]] of cases.entries()) {
      const r = results[i] as CliResult
      expect(r.code, `${args.join(' ')}\n${r.stderr}`).toBe(2)
      expect(r.stderr).toMatch(re)
      expect(r.stderr).not.toMatch(/\n\s+at /) // no stack trace
    }
  })
})
