import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { BenchValidateResult, GateResult } from '../../src/results/types.js'
import { parseJson, runCli } from '../helpers/cli.js'
import { LAB_ENV } from '../integration/lab-env.js'

// The real lab: `idtool run scenarios/ci-smoke.yaml` (a few seconds of bench validate through haproxy),
// then `idtool gate` on the saved result. Needs `npm run build`.
const dir = mkdtempSync(join(tmpdir(), 'idtool-gate-it-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('run ci-smoke, then gate its result', () => {
  const out = join(dir, 'r.json')

  it('runs the ci-smoke scenario on the lab and passes its thresholds', async () => {
    const junit = join(dir, 'smoke.xml')
    const r = await runCli(['run', 'scenarios/ci-smoke.yaml', '--out', out, '--junit', junit], {
      env: LAB_ENV,
      timeoutMs: 180_000,
    })
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0)
    expect(r.stdout).toContain('gate: PASSED')
    const result = JSON.parse(readFileSync(out, 'utf8')) as BenchValidateResult
    expect(result.kind).toBe('bench.validate')
    expect(result.model).toBe('closed')
    expect(result.requests.total).toBeGreaterThan(0)
    expect(Object.keys(result.backends).length).toBeGreaterThanOrEqual(2)
    execFileSync('xmllint', ['--noout', '--schema', '/work/shared/schemas/junit-10.xsd', junit], {
      stdio: 'pipe',
    })
  })

  it('gate exits 3 on p99 < 1ms with a JUnit file naming the failed check', async () => {
    const junit = join(dir, 'j.xml')
    const r = await runCli(['gate', out, '--threshold', 'p99 < 1ms', '--junit', junit])
    expect(r.code, r.stderr).toBe(3)
    const xml = readFileSync(junit, 'utf8')
    // the threshold and the default failure-rate check (which passes on the healthy lab)
    expect(xml).toContain('tests="2" failures="1"')
    expect(xml).toMatch(/<testcase name="failures.rate &lt; 1% \(default\)"[^>]*>\s*<system-out>/)
    expect(xml).toMatch(
      /<testcase name="p99 &lt; 1ms" classname="idtool\.gate\.threshold" time="0">\s*<failure /,
    )
    execFileSync('xmllint', ['--noout', '--schema', '/work/shared/schemas/junit-10.xsd', junit], {
      stdio: 'pipe',
    })
  })

  it('gate exits 0 with generous thresholds', async () => {
    const r = await runCli([
      'gate',
      out,
      '--threshold',
      'p99 < 60s',
      '--threshold',
      'backends.*.p99 < 60s',
      '--threshold',
      'unexpectedStatus == 0',
      '--json',
    ])
    expect(r.code, r.stderr).toBe(0)
    const g = parseJson<GateResult>(r)
    expect(g.passed).toBe(true)
    expect(g.checks).toHaveLength(4)
    expect(g.checks[3]).toMatchObject({ name: 'failures.rate < 1% (default)', passed: true })
    expect(g.inputs).toEqual([out])
  })

  it('run --json prints one gate result and exits 3 when an extra threshold fails', async () => {
    const r = await runCli(
      [
        'run',
        'scenarios/ci-smoke.yaml',
        '--set',
        'duration=1s',
        '--threshold',
        'p99 < 1us',
        '--out',
        join(dir, 'r2.json'),
        '--json',
      ],
      { env: LAB_ENV, timeoutMs: 180_000 },
    )
    expect(r.code, r.stderr).toBe(3)
    const g = parseJson<GateResult>(r) // the bench result is not printed too: stdout is one JSON document
    expect(g.kind).toBe('gate')
    expect(g.passed).toBe(false)
    expect(g.checks.find((c) => c.name === 'p99 < 1us')?.passed).toBe(false)
    expect(g.checks.find((c) => c.name === 'unexpectedStatus == 0')?.passed).toBe(true)
  })
})
