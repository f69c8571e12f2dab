import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { checkResult, loadResult, parseResult, RESULT_KINDS } from '../../src/results/load.js'
import type { AnyResult } from '../../src/results/types.js'
import {
  benchResult,
  benchResultFrom as gateBench,
  gateResult,
  latencies,
  leakResult,
  mixedResult,
  revokeResult,
  sweepResult,
  tokensResult,
} from '../fixtures/results.js'

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T

/** Every kind, as the commands write it (the test fixtures of report and gate). */
const FIXTURES: Record<string, AnyResult> = {
  'bench.validate': benchResult({ seed: 1, n: 300 }),
  'bench.validate (open)': benchResult({ seed: 2, n: 300, model: 'open' }),
  'bench.validate (gate fixture)': gateBench(latencies(200, 1)),
  'bench.sweep': sweepResult({ label: 'x' }),
  'bench.mixed': mixedResult(),
  'ldap.page-leak-check': leakResult(),
  'revoke-bulk': revokeResult(),
  'tokens.issue': tokensResult(),
  gate: gateResult(),
}

/** Fields a result may lack (optional in src/results/types.ts). */
const OPTIONAL = new Set([
  'httpClient',
  'histogramUncorrected',
  'mergedFrom',
  'label',
  'histograms',
  'failures',
  'method',
  'methodNote',
  'caller',
  // version 2 of revoke-bulk and tokens issue: absent in version 1 results, which are still read
  'retries',
  'reauthentications',
  'failureReasons',
])

/** Delete the field at a dotted path ("points.2.rps") of a copy. */
function without(value: unknown, path: string): unknown {
  const copy = clone(value) as Record<string, unknown>
  const parts = path.split('.')
  let at: Record<string, unknown> = copy
  for (const p of parts.slice(0, -1)) at = at[p] as Record<string, unknown>
  delete at[parts.at(-1) as string]
  return copy
}

describe('checkResult', () => {
  it('accepts every kind as idtool writes it', () => {
    for (const [name, r] of Object.entries(FIXTURES)) {
      expect(() => checkResult(clone(r), `${name}.json`), name).not.toThrow()
    }
    expect(new Set(Object.values(FIXTURES).map((r) => r.kind))).toEqual(new Set(RESULT_KINDS))
  })

  it('refuses each kind without any one of its required top-level fields, naming file and field', () => {
    let cases = 0
    for (const [name, r] of Object.entries(FIXTURES)) {
      for (const field of Object.keys(r)) {
        if (field === 'kind' || field === 'version' || OPTIONAL.has(field)) continue
        cases++
        const thrown = (() => {
          try {
            checkResult(without(r, field), 'r.json')
          } catch (err) {
            return err as { message: string; exitCode: number; hint?: string }
          }
          return undefined
        })()
        expect(thrown, `${name} without ${field}`).toBeDefined()
        expect(thrown?.exitCode).toBe(2)
        expect(thrown?.message).toMatch(new RegExp(`^r\\.json: ${field}: missing \\(expected `))
        expect(thrown?.hint).toMatch(/save it again with --out/)
      }
    }
    expect(cases).toBeGreaterThan(60)
  })

  it('names nested fields by their path', () => {
    const cases: Array<[AnyResult, string, string]> = [
      [FIXTURES['bench.sweep']!, 'points.2.rps', 'r.json: points[2].rps: missing (expected a number)'],
      [
        FIXTURES['bench.sweep']!,
        'points.1.result.throughput',
        'r.json: points[1].result.throughput: missing (expected an object)',
      ],
      [FIXTURES['bench.validate']!, 'latencyMs.p99', 'r.json: latencyMs.p99: missing (expected a number)'],
      [
        FIXTURES['bench.validate']!,
        'backends.ks2.count',
        'r.json: backends.ks2.count: missing (expected a number)',
      ],
      [
        FIXTURES['bench.validate']!,
        'cold.latencyMs.p50',
        'r.json: cold.latencyMs.p50: missing (expected a number)',
      ],
      [FIXTURES['bench.validate']!, 'requests.total', 'r.json: requests.total: missing (expected a number)'],
      [
        FIXTURES['ldap.page-leak-check']!,
        'subjects.1.verdict',
        'r.json: subjects[1].verdict: missing (expected one of "leak", "no-leak", "inconclusive")',
      ],
      [
        FIXTURES['ldap.page-leak-check']!,
        'latencyMs.search',
        'r.json: latencyMs.search: missing (expected an object)',
      ],
      [
        FIXTURES['revoke-bulk']!,
        'failures.1.reason',
        'r.json: failures[1].reason: missing (expected a string)',
      ],
      [FIXTURES.gate!, 'checks.0.passed', 'r.json: checks[0].passed: missing (expected true or false)'],
    ]
    for (const [r, path, message] of cases) {
      expect(() => checkResult(without(r, path), 'r.json'), path).toThrow(message)
    }
  })

  it('names wrong types with what was found', () => {
    const r = clone(FIXTURES['bench.validate']!) as unknown as Record<string, Record<string, unknown>>
    r.throughput!.rps = '213'
    expect(() => checkResult(r, 'r.json')).toThrow(
      'r.json: throughput.rps: expected a number, got a string ("213")',
    )
    const s = clone(FIXTURES['bench.sweep']!) as unknown as { points: unknown }
    s.points = {}
    expect(() => checkResult(s, 's.json')).toThrow(
      's.json: points: expected an array of objects, got an object',
    )
    const t = clone(FIXTURES['bench.validate']!) as unknown as Record<string, unknown>
    t.statusCodes = { '200': null }
    expect(() => checkResult(t, 't.json')).toThrow('t.json: statusCodes["200"]: expected a number, got null')
  })
})

describe('loadResult', () => {
  const dir = mkdtempSync(join(tmpdir(), 'idtool-load-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  const save = (name: string, value: unknown) => {
    const file = join(dir, name)
    writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value))
    return file
  }

  it('reads a file and refuses it with the same line as the text', () => {
    const broken = without(FIXTURES['bench.sweep']!, 'points.2.rps')
    const file = save('r.json', broken)
    const line = `${file}: points[2].rps: missing (expected a number)`
    expect(() => parseResult(JSON.stringify(broken), file)).toThrow(line)
    expect(() => loadResult(file)).toThrow(line)
    expect(loadResult(save('ok.json', FIXTURES['bench.sweep'])).kind).toBe('bench.sweep')
  })

  it('names a file it cannot read or parse (exit 2)', () => {
    const missing = join(dir, 'missing.json')
    expect(() => loadResult(missing)).toThrow(`cannot read ${missing}: no such file or directory (ENOENT)`)
    expect(() => loadResult(dir)).toThrow(`cannot read ${dir}: is a directory (EISDIR)`)
    const notJson = save('bad.json', '{"kind":')
    expect(() => loadResult(notJson)).toThrow(new RegExp(`^${notJson} is not JSON: `))
    try {
      loadResult(missing)
    } catch (err) {
      expect((err as { exitCode: number }).exitCode).toBe(2)
    }
  })

  it('takes only the kinds a reader asks for', () => {
    const g = save('g.json', FIXTURES.gate)
    expect(() => loadResult(g, { kinds: ['bench.validate'] })).toThrow(
      `${g} is a gate result: give a bench.validate result`,
    )
    expect(() =>
      loadResult(g, { kinds: ['bench.validate', 'bench.sweep'], otherKind: 'gate what it judged' }),
    ).toThrow(`${g} is a gate result: gate what it judged`)
    const b = loadResult(save('b.json', FIXTURES['bench.validate']), { kinds: ['bench.validate'] })
    expect(b.throughput.rps).toBeGreaterThan(0) // typed: a BenchValidateResult
  })

  it('refuses versions it does not read', () => {
    const v = (version: unknown) => ({ ...clone(FIXTURES['tokens.issue']!), version })
    expect(() => checkResult(v(3), 't.json')).toThrow('t.json: tokens.issue version 3 is not supported')
    expect(() => checkResult(v(1), 't.json')).not.toThrow() // version 1 fits version 2's shape
    expect(() => checkResult(v('1'), 't.json')).toThrow('t.json: tokens.issue version "1" is not supported')
    expect(() => checkResult(v(0), 't.json')).toThrow(/version 0 is not supported/)
  })

  it('names wrong values in unions, tuples and enums', () => {
    const g = clone(FIXTURES.gate!) as unknown as { checks: Array<Record<string, unknown>> }
    g.checks[0]!.actual = 'x'
    expect(() => checkResult(g, 'g.json')).toThrow(
      'g.json: checks[0].actual: expected a number, true, false or null, got a string ("x")',
    )
    const l = clone(FIXTURES['ldap.page-leak-check']!) as unknown as {
      subjects: Array<Record<string, unknown>>
    }
    l.subjects[0]!.ci95 = [1]
    expect(() => checkResult(l, 'l.json')).toThrow(
      'l.json: subjects[0].ci95: expected an array of 2 numbers, got an array',
    )
    const b = clone(FIXTURES['bench.validate']!) as unknown as Record<string, unknown>
    b.method = 'POST'
    expect(() => checkResult(b, 'b.json')).toThrow(
      'b.json: method: expected one of "GET", "HEAD", got a string ("POST")',
    )
    b.method = 'GET'
    b.latencyUncorrectedMs = 5
    expect(() => checkResult(b, 'b.json')).toThrow(
      'b.json: latencyUncorrectedMs: expected an object or null, got a number (5)',
    )
    b.latencyUncorrectedMs = { p50: 1 }
    expect(() => checkResult(b, 'b.json')).toThrow(
      'b.json: latencyUncorrectedMs.p90: missing (expected a number)',
    )
  })

  it('keeps fields it does not know (a newer writer may add optional ones)', () => {
    const r = { ...clone(FIXTURES['revoke-bulk']!), addedLater: 1 }
    expect(checkResult(r, 'r.json')).toBe(r)
  })
})
