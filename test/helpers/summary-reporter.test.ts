import { existsSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import prereqs from './prereqs.json' with { type: 'json' }
import { allowedSkips, closingLines, isAllowed, skipReason } from './summary-reporter.js'

describe('the closing line of a test run', () => {
  it('knows the prerequisites of test files that exist (a moved test keeps its reason)', () => {
    const files = [...prereqs.programs.flatMap((p) => p.tests), ...prereqs.root.tests]
    expect(files.filter((f) => !existsSync(f))).toEqual([])
  })

  it('gives a skip the note of ctx.skip, else what its file needs and this machine lacks', () => {
    const none = () => false
    expect(skipReason('test/report/html.browser.test.ts', 'a note', none)).toBe('a note')
    expect(skipReason('test/report/html.browser.test.ts', undefined, none)).toBe(
      'needs /usr/bin/chromium (apt package chromium)',
    )
    expect(skipReason('test/report/html.browser.test.ts', undefined, () => true)).toMatch(/^no reason given/)
    expect(skipReason('test/results/output-file.test.ts', undefined, () => true, false)).toMatch(
      /^needs root: /,
    )
  })

  it('allows a skip only when IDTOOL_ALLOWED_SKIPS names it: root, a package, or part of its name', () => {
    const skip = {
      test: 'test/x.test.ts > suite > t',
      reason: 'needs /usr/bin/chromium (apt package chromium)',
    }
    expect(allowedSkips(' root, chromium ,')).toEqual(['root', 'chromium'])
    expect(isAllowed(skip, [])).toBe(false)
    expect(isAllowed(skip, ['root'])).toBe(false)
    expect(isAllowed(skip, ['chromium'])).toBe(true)
    expect(isAllowed(skip, ['suite > t'])).toBe(true)
    expect(isAllowed({ ...skip, reason: 'needs root: mounts a tmpfs' }, ['root'])).toBe(true)
  })

  it('counts every skip with its reason and fails on one not allowed', () => {
    const s = {
      passed: 3,
      failed: 0,
      filtered: false,
      skipped: [{ test: 'a > b', reason: 'why', allowed: false }],
    }
    expect(closingLines(s)).toEqual([
      '  skipped: a > b - why',
      '3 passed, 0 failed, 1 skipped - FAIL: 1 skip(s) not allowed by IDTOOL_ALLOWED_SKIPS',
    ])
    expect(closingLines({ ...s, skipped: [] })).toEqual(['3 passed, 0 failed, 0 skipped'])
  })
})
