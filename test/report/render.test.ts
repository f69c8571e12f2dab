import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { UsageError } from '../../src/errors.js'
import { renderBenchValidateTable } from '../../src/report/bench.js'
import { renderGate } from '../../src/report/gate.js'
import { renderLeakTable } from '../../src/report/leak.js'
import { renderMarkdown } from '../../src/report/markdown.js'
import { renderHgrm, renderResults, renderTable } from '../../src/report/render.js'
import { renderRevokeBulk, renderTokensIssue } from '../../src/report/tokens.js'
import { parseResult } from '../../src/results/load.js'
import type {
  AnyResult,
  BenchValidateResult,
  GateResult,
  PageLeakCheckResult,
  RevokeBulkResult,
  TokensIssueResult,
} from '../../src/results/types.js'
import {
  benchResult,
  gateResult,
  leakResult,
  revokeResult,
  sweepResult,
  tokensResult,
} from '../fixtures/results.js'

const GOLDEN = fileURLToPath(new URL('./golden/', import.meta.url))
const UPDATE = process.env.UPDATE_GOLDEN === '1'

/**
 * Compare with test/report/golden/NAME (UPDATE_GOLDEN=1 rewrites it; review the diff before committing).
 * Markdown and HTML goldens end in .golden so that formatters leave them byte for byte.
 */
function golden(name: string, actual: string): void {
  const path = join(GOLDEN, name)
  if (UPDATE || !existsSync(path)) {
    mkdirSync(GOLDEN, { recursive: true })
    writeFileSync(path, actual)
    if (!UPDATE) throw new Error(`golden file ${name} was missing: written, check it and run again`)
  }
  expect(actual).toBe(readFileSync(path, 'utf8'))
}

const fixtures: Record<string, AnyResult> = {
  'bench-validate': benchResult({ seed: 1 }),
  'bench-validate-open': benchResult({ seed: 2, model: 'open' }),
  'bench-sweep': sweepResult({ label: 'sqlite, no ANALYZE' }),
  'page-leak-check': leakResult(),
  'revoke-bulk': revokeResult(),
  'tokens-issue': tokensResult(),
  gate: gateResult(),
}
const one = (name: string) => [{ result: fixtures[name]!, source: `${name}.json` }]

describe('renderers (golden files)', () => {
  for (const name of Object.keys(fixtures)) {
    it(`${name}: markdown`, () => golden(`${name}.md.golden`, renderResults(one(name), 'markdown')))
  }

  it('bench-sweep: table and terminal chart', () =>
    golden('bench-sweep.table.txt', renderResults(one('bench-sweep'), 'table')))

  it("other kinds: the table is the owning command's renderer", () => {
    const r = fixtures
    expect(renderTable(r['bench-validate']!)).toBe(
      renderBenchValidateTable(r['bench-validate'] as BenchValidateResult),
    )
    expect(renderTable(r['page-leak-check']!)).toBe(
      renderLeakTable(r['page-leak-check'] as PageLeakCheckResult),
    )
    expect(renderTable(r['revoke-bulk']!)).toBe(renderRevokeBulk(r['revoke-bulk'] as RevokeBulkResult))
    expect(renderTable(r['tokens-issue']!)).toBe(renderTokensIssue(r['tokens-issue'] as TokensIssueResult))
    expect(renderTable(r.gate!)).toBe(renderGate(r.gate as GateResult))
    // several files: each under its name
    const two = renderResults([...one('gate'), ...one('tokens-issue')], 'table')
    expect(two).toMatch(/^== gate.json \(gate\)\n/)
    expect(two).toContain('== tokens-issue.json (tokens.issue)')
  })

  it('html of several results, sweeps overlaid', () => {
    const html = renderResults(
      [
        { result: sweepResult({ label: 'sqlite, no ANALYZE' }), source: 'sqlite.json' },
        { result: sweepResult({ label: 'after ANALYZE', flat: true, seed: 30 }), source: 'analyzed.json' },
        { result: fixtures['bench-validate']!, source: 'bench.json' },
        { result: fixtures['page-leak-check']!, source: 'leak.json' },
        { result: fixtures.gate!, source: 'gate.json' },
      ],
      'html',
      { generatedAt: '2026-11-21T12:00:00.000Z' },
    )
    golden('report.html.golden', html)
  })

  it('hgrm of a bench result, a backend, a sweep level and a leak check', () => {
    golden('bench-validate.hgrm', renderHgrm(fixtures['bench-validate']!))
    const ks2 = renderHgrm(fixtures['bench-validate']!, { histogram: 'ks2' })
    expect(ks2).not.toBe(renderHgrm(fixtures['bench-validate']!))
    expect(ks2).toMatch(/#\[Max\s+=\s+[\d.]+, Total count\s+=\s+1000\]/)
    const sweep = fixtures['bench-sweep'] as ReturnType<typeof sweepResult>
    expect(renderHgrm(sweep, { level: 9000 })).toBe(renderHgrm(sweep.points[2]!.result))
    expect(renderHgrm(fixtures['page-leak-check']!, { histogram: 'search' })).toMatch(
      /Total count\s+=\s+150\]/,
    )
    expect(() => renderHgrm(fixtures['revoke-bulk']!)).toThrow(UsageError)
    expect(() => renderHgrm(fixtures['bench-validate']!, { histogram: 'ks9' })).toThrow(/ks1, ks2/)
    expect(() => renderHgrm(fixtures['bench-validate']!, { histogram: 'uncorrected' })).toThrow(
      /closed model/,
    )
  })

  it('json renders the result itself, an array for several', () => {
    expect(JSON.parse(renderResults(one('gate'), 'json'))).toEqual(fixtures.gate)
    const two = JSON.parse(renderResults([...one('gate'), ...one('tokens-issue')], 'json'))
    expect(two.map((r: AnyResult) => r.kind)).toEqual(['gate', 'tokens.issue'])
  })
})

describe('renderers escape what results carry', () => {
  it('markdown escapes pipes and html escapes markup', () => {
    const r = { ...sweepResult(), label: 'a|b <script>alert(1)</script>' }
    expect(renderMarkdown(r)).toContain('a\\|b')
    const html = renderResults([{ result: r, source: '<x>.json' }], 'html')
    expect(html).not.toContain('<script>')
    expect(html).toContain('&lt;script&gt;')
    expect(html).toContain('&lt;x&gt;.json')
  })
})

describe('parseResult', () => {
  it('accepts every kind idtool writes', () => {
    for (const r of Object.values(fixtures))
      expect(parseResult(JSON.stringify(r), 'f.json').kind).toBe(r.kind)
  })

  it('names the file and the problem for bad input', () => {
    expect(() => parseResult('{', 'a.json')).toThrow(/a.json is not JSON/)
    expect(() => parseResult('[]', 'b.json')).toThrow(/not an idtool result/)
    expect(() => parseResult('{"kind":"other","version":1}', 'c.json')).toThrow(/kind "other"/)
    expect(() => parseResult('{"kind":"gate","version":2}', 'd.json')).toThrow(/version 2 is not supported/)
    expect(() => parseResult('{"error":{"message":"x"}}', 'e.json')).toThrow(/holds an error/)
    expect(() => parseResult('{"kind":"bench.sweep","version":1}', 'f.json')).toThrow(
      'f.json: startedAt: missing (expected a string)',
    )
  })
})
