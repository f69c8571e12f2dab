import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { renderGate } from '../../src/report/gate.js'
import { renderJunit, xmlEscape } from '../../src/report/junit.js'
import { renderMarkdownFile } from '../../src/report/markdown.js'
import type { GateResult } from '../../src/results/types.js'

const XSD = '/work/shared/schemas/junit-10.xsd'
const dir = mkdtempSync(join(tmpdir(), 'idtool-junit-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const result: GateResult = {
  version: 1,
  kind: 'gate',
  passed: false,
  checks: [
    { name: 'p99 < 1ms', kind: 'threshold', metric: 'p99', actual: 12.5, limit: '< 1ms', passed: false },
    {
      name: 'errors.rate < 0.1%',
      kind: 'threshold',
      metric: 'errors.rate',
      actual: 0,
      limit: '< 0.1%',
      passed: true,
    },
    {
      name: 'backends.*.p99 < 400ms',
      kind: 'threshold',
      metric: 'backends.*.p99',
      actual: 30,
      limit: '< 400ms',
      passed: true,
      detail: 'all 2 passed; closest backends.ks2.p99 = 30ms',
    },
    {
      name: 'rps vs baseline',
      kind: 'regression',
      metric: 'rps',
      actual: 150,
      baseline: 200,
      changePct: -25,
      limit: 'change >= -10% beyond noise',
      passed: false,
      detail: 'weird <chars> & "quotes" | pipes \u0001 control',
    },
  ],
  inputs: ['r&d.json'],
  baselines: ['base.json'],
}

function xmllint(file: string): { ok: boolean; out: string } {
  try {
    const out = execFileSync('xmllint', ['--noout', '--schema', XSD, file], {
      encoding: 'utf8',
      stdio: 'pipe',
    })
    return { ok: true, out }
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string }
    return { ok: false, out: `${e.stdout ?? ''}${e.stderr ?? ''}` }
  }
}

describe('JUnit XML', () => {
  it('validates against the Jenkins xUnit junit-10.xsd', () => {
    const file = join(dir, 'gate.xml')
    writeFileSync(file, renderJunit(result, { suiteName: 'idtool gate ci-smoke', timestamp: new Date(0) }))
    const v = xmllint(file)
    expect(v.ok, v.out).toBe(true)
  })

  it('the validator does reject a broken file (the check above can fail)', () => {
    const file = join(dir, 'bad.xml')
    writeFileSync(file, '<testsuites><testsuite name="x"><testcase/></testsuite></testsuites>')
    expect(xmllint(file).ok).toBe(false)
  })

  it('has one testcase per check and a failure naming each failed check', () => {
    const xml = renderJunit(result)
    expect(xml.match(/<testcase /g)).toHaveLength(4)
    expect(xml.match(/<failure /g)).toHaveLength(2)
    expect(xml).toContain('tests="4" failures="2" errors="0"')
    expect(xml).toContain('<testcase name="p99 &lt; 1ms" classname="idtool.gate.threshold"')
    expect(xml).toContain('message="failed: p99 = 12.5ms, limit &lt; 1ms"')
    expect(xml).toContain('rps: 150 vs baseline 200 (-25%)')
    expect(xml).toContain('<property name="input" value="r&amp;d.json"/>')
    expect(xml).not.toContain('\u0001')
  })

  it('escapes everything XML needs escaped', () => {
    expect(xmlEscape(`a<b>&"c'\u0000`)).toBe('a&lt;b&gt;&amp;&quot;c&apos;')
  })
})

describe('Markdown and table', () => {
  it('summarises for a merge-request comment: the Markdown `report --format markdown` prints', () => {
    const md = renderMarkdownFile(result, { title: 'idtool gate' })
    expect(md).toMatch(/^## idtool gate\n\nGate: \*\*FAILED\*\* \(1 input, baselines: base.json\)\n/)
    expect(md).toContain('| p99 < 1ms | threshold | p99 | 12.5 | < 1ms | - | - | FAIL |')
    expect(md).toContain(
      '| rps vs baseline | regression | rps | 150 | change >= -10% beyond noise | 200 | -25% |',
    )
    expect(md).toContain('weird <chars> & "quotes" \\| pipes')
    expect(md.endsWith('\n')).toBe(true)
    expect(renderMarkdownFile({ ...result, passed: true, checks: [result.checks[1]!] })).toMatch(
      /^## Gate\n\nGate: \*\*passed\*\*/,
    )
  })

  it('renders the table with baseline columns and a verdict line', () => {
    const text = renderGate(result)
    expect(text).toMatch(/verdict.*check.*actual.*limit.*baseline.*change/)
    expect(text).toMatch(/FAIL.*p99 < 1ms.*12\.5ms.*< 1ms/)
    expect(text).toMatch(/FAIL.*rps vs baseline.*150.*200.*-25%/)
    expect(text).toContain('gate: FAILED (2 of 4 checks failed)')
    expect(text).toContain('backends.*.p99 < 400ms: all 2 passed')
  })
})
