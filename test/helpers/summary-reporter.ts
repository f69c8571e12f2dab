import { existsSync, writeFileSync } from 'node:fs'
import { relative } from 'node:path'
import type { Reporter, TestModule, Vitest } from 'vitest/node'
import prereqs from './prereqs.json' with { type: 'json' }

/** One skipped test, why, and whether the run allows it. */
export interface Skip {
  test: string
  reason: string
  allowed: boolean
}

/** What one run counted; written to IDTOOL_TEST_SUMMARY when set, for CI's closing line over several runs. */
export interface Summary {
  passed: number
  failed: number
  skipped: Skip[]
  /** Skips are not checked when tests were left out on purpose (-t, .only). */
  filtered: boolean
}

/** The reason of a skip: the note of `ctx.skip(note)`, else what the test file needs and this machine lacks. */
export function skipReason(
  file: string,
  note: string | undefined,
  exists = existsSync,
  root = isRoot(),
): string {
  if (note) return note
  const lacking = prereqs.programs.filter((p) => p.tests.includes(file) && !exists(p.program))
  const reasons = [...new Set(lacking.map((p) => `needs ${p.program} (apt package ${p.pkg})`))]
  if (prereqs.root.tests.includes(file))
    reasons.push(
      root ? `${prereqs.root.why}: not possible here, even as root` : `needs root: ${prereqs.root.why}`,
    )
  return reasons.length > 0 ? reasons.join('; ') : 'no reason given (pass one to ctx.skip)'
}

/**
 * IDTOOL_ALLOWED_SKIPS: comma-separated; a skip is allowed when an entry is "root" and the test needs
 * root, or an entry occurs in its name ("file > suite > test") or in its reason (an apt package name).
 */
export function isAllowed(skip: Omit<Skip, 'allowed'>, allowList: string[]): boolean {
  return allowList.some((a) =>
    a === 'root' ? skip.reason.includes('needs root') : skip.test.includes(a) || skip.reason.includes(a),
  )
}

export function allowedSkips(env: string | undefined = process.env.IDTOOL_ALLOWED_SKIPS): string[] {
  return (env ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
}

/** The closing line, after one line per skip. */
export function closingLines(s: Summary): string[] {
  const lines = s.skipped.map((k) => `  skipped: ${k.test} - ${k.reason}${k.allowed ? ' (allowed)' : ''}`)
  const unexpected = s.filtered ? 0 : s.skipped.filter((k) => !k.allowed).length
  let last = `${s.passed} passed, ${s.failed} failed, ${s.skipped.length} skipped`
  if (unexpected > 0) last += ` - FAIL: ${unexpected} skip(s) not allowed by IDTOOL_ALLOWED_SKIPS`
  else if (s.filtered && s.skipped.length > 0) last += ' (tests filtered: skips not checked)'
  return [...lines, last]
}

function isRoot(): boolean {
  return process.getuid?.() === 0
}

/**
 * Ends the run with one line: `N passed, N failed, N skipped`, each skip above it with its reason. A skip
 * that IDTOOL_ALLOWED_SKIPS does not allow (none by default) fails the run.
 */
export default class SummaryReporter implements Reporter {
  private vitest: Vitest | undefined

  onInit(vitest: Vitest): void {
    this.vitest = vitest
  }

  async onTestRunEnd(testModules: ReadonlyArray<TestModule>): Promise<void> {
    // vitest calls the default reporter's summary right after this; the closing line comes last
    await new Promise((resolve) => setImmediate(resolve))
    const root = this.vitest?.config.root ?? process.cwd()
    const allowList = allowedSkips()
    const summary: Summary = {
      passed: 0,
      failed: 0,
      skipped: [],
      filtered: Boolean(this.vitest?.config.testNamePattern),
    }
    for (const m of testModules) {
      const file = relative(root, m.moduleId)
      for (const t of m.children.allTests()) {
        const r = t.result()
        if (r.state === 'passed') summary.passed++
        else if (r.state === 'failed') summary.failed++
        else if (r.state === 'skipped') {
          const skip = { test: `${file} > ${t.fullName}`, reason: skipReason(file, r.note) }
          summary.skipped.push({ ...skip, allowed: isAllowed(skip, allowList) })
        }
      }
      // a file with .only runs only those tests: the others skip without being asked to
      for (const t of m.children.allTests()) if (t.options.mode === 'only') summary.filtered = true
    }
    process.stdout.write(`\n${closingLines(summary).join('\n')}\n`)
    const out = process.env.IDTOOL_TEST_SUMMARY
    if (out) writeFileSync(out, `${JSON.stringify(summary, null, 2)}\n`)
    if (!summary.filtered && summary.skipped.some((k) => !k.allowed)) process.exitCode = 1
  }
}
