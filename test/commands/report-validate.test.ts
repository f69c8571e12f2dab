import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import {
  benchResult,
  gateResult,
  leakResult,
  revokeResult,
  sweepResult,
  tokensResult,
} from '../fixtures/results.js'
import { type CliResult, parseJson, runCliEach } from '../helpers/cli.js'

// Runs the built CLI: `npx tsc -p tsconfig.build.json` first. Issue 12 item 10: a result of a known kind
// with a missing field is refused on load (exit 2, file and field), never a crash or `undefined` cells.
const dir = mkdtempSync(join(tmpdir(), 'idtool-validate-cli-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** Save a copy of `value` without the field at `path` (dot-separated, array indexes as numbers). */
function saveWithout(name: string, value: unknown, path: string): string {
  const copy = JSON.parse(JSON.stringify(value)) as Record<string, unknown>
  const parts = path.split('.')
  let at = copy
  for (const p of parts.slice(0, -1)) at = at[p] as Record<string, unknown>
  delete at[parts.at(-1) as string]
  const file = join(dir, name)
  writeFileSync(file, JSON.stringify(copy))
  return file
}

const save = (name: string, value: unknown) => {
  const file = join(dir, name)
  writeFileSync(file, JSON.stringify(value))
  return file
}

/** [kind, result, field removed, the field as the message names it, what it expected] */
const CASES: Array<[string, unknown, string, string, string]> = [
  ['bench.validate', benchResult({ seed: 1, n: 300 }), 'throughput', 'throughput', 'an object'],
  ['bench.sweep', sweepResult({}), 'points.2.rps', 'points[2].rps', 'a number'],
  ['ldap.page-leak-check', leakResult(), 'latencyMs.page.p99', 'latencyMs.page.p99', 'a number'],
  ['revoke-bulk', revokeResult(), 'revoked', 'revoked', 'a number'],
  ['tokens.issue', tokensResult(), 'ratePerSec', 'ratePerSec', 'a number'],
  ['gate', gateResult(), 'checks.1.limit', 'checks[1].limit', 'a string'],
]

const noStack = (stderr: string) => expect(stderr).not.toMatch(/\n\s+at |TypeError|Cannot read/)

describe('a result with a missing field', { timeout: 120_000 }, () => {
  it('idtool report: exit 2, one line naming the file and the field, for every kind', async () => {
    const runs = CASES.flatMap(([kind, value, path, shown, expected]) => {
      const file = saveWithout(`report-${kind}.json`, value, path)
      return ['table', 'markdown'].map((format) => ({ kind, file, shown, expected, format }))
    })
    const results = await runCliEach(
      runs.map(({ file, format }) => ({ args: ['report', file, '--format', format] })),
    )
    for (const [i, { kind, file, shown, expected, format }] of runs.entries()) {
      const r = results[i] as CliResult
      expect(r.code, `${kind} ${format}: ${r.stderr}`).toBe(2)
      expect(r.stdout).toBe('')
      expect(r.stderr).toMatch(
        new RegExp(
          `^Error: ${file.replace(/[.]/g, '\\.')}: ${shown.replace(/[.[\]]/g, '\\$&')}: missing \\(expected ${expected}\\)\\nHint: `,
        ),
      )
      noStack(r.stderr)
    }
  })

  it('idtool gate: exit 2 naming the file and the field, for every kind it reads', async () => {
    const runs = CASES.filter(([kind]) => kind !== 'gate').map(([kind, value, path, shown]) => ({
      kind,
      shown,
      file: saveWithout(`gate-${kind}.json`, value, path),
    }))
    const results = await runCliEach(runs.map(({ file }) => ({ args: ['gate', file, '-t', 'p99 < 1s'] })))
    for (const [i, { kind, file, shown }] of runs.entries()) {
      const r = results[i] as CliResult
      expect(r.code, `${kind}: ${r.stderr}`).toBe(2)
      expect(r.stderr).toContain(`Error: ${file}: ${shown}: missing`)
      noStack(r.stderr)
    }
  })

  it('gate --json and report merge: the same line, in the error envelope', async () => {
    const file = saveWithout('merge.json', benchResult({ seed: 3, n: 300 }), 'backends.ks1.count')
    const good = save('good.json', benchResult({ seed: 4, n: 300 }))
    const [g, m] = (await runCliEach([
      { args: ['gate', good, '--baseline', file, '--json'] },
      { args: ['report', 'merge', good, file] },
    ])) as [CliResult, CliResult]
    expect(g.code, g.stderr).toBe(2)
    expect(parseJson<{ error: { message: string } }>(g).error.message).toBe(
      `${file}: backends.ks1.count: missing (expected a number)`,
    )
    expect(m.code, m.stderr).toBe(2)
    expect(m.stderr).toContain(`Error: ${file}: backends.ks1.count: missing (expected a number)`)
  })

  it('complete results of every kind still load', async () => {
    const files = CASES.map(([kind, value]) => save(`ok-${kind}.json`, value))
    const results = await runCliEach(files.map((file) => ({ args: ['report', file] })))
    for (const [i, [kind]] of CASES.entries()) {
      const r = results[i] as CliResult
      expect(r.code, `${kind}: ${r.stderr}`).toBe(0)
      expect(r.stdout).not.toMatch(/undefined|NaN/)
    }
  })
})
