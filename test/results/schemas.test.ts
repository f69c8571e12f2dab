import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import Ajv from 'ajv'
import { describe, expect, it } from 'vitest'
import { RESULT_KINDS, RESULT_SCHEMAS, resultVersion } from '../../src/results/load.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const SNAPSHOT = 'test/results/schema-versions.json'

/** The shape of a schema: its keys sorted, without the prose (description, title), which is no shape. */
function shape(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(shape)
  if (v === null || typeof v !== 'object') return v
  return Object.fromEntries(
    Object.entries(v)
      .filter(([k]) => k !== 'description' && k !== 'title')
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, x]) => [k, shape(x)]),
  )
}
const hash = (schema: object) =>
  createHash('sha256')
    .update(JSON.stringify(shape(schema)))
    .digest('hex')

describe('result schemas', () => {
  it('are those the types in src/results/types.ts make (npm run schemas)', () => {
    const r = spawnSync(process.execPath, ['scripts/schemas.mjs', '--check'], { cwd: root, encoding: 'utf8' })
    expect(r.status, r.stderr).toBe(0)
  }, 60_000)

  it('are valid draft-07 schemas (the loader does not check them, for speed)', () => {
    const ajv = new Ajv.default({ strict: false })
    for (const kind of RESULT_KINDS) expect(ajv.validateSchema(RESULT_SCHEMAS[kind]), kind).toBe(true)
  })

  it('change shape only with a version bump', () => {
    const recorded = JSON.parse(readFileSync(`${root}${SNAPSHOT}`, 'utf8')) as Record<
      string,
      { version: number; sha256: string }
    >
    const now = Object.fromEntries(
      RESULT_KINDS.map((k) => [k, { version: resultVersion(k), sha256: hash(RESULT_SCHEMAS[k]) }]),
    )
    const problems: string[] = []
    for (const [kind, cur] of Object.entries(now)) {
      const was = recorded[kind]
      if (!was) problems.push(`kind ${kind} is new: record it in ${SNAPSHOT}`)
      else if (was.sha256 !== cur.sha256 && was.version === cur.version)
        problems.push(
          `kind ${kind} changed shape: bump its version (now ${cur.version}) in src/results/types.ts`,
        )
      else if (was.sha256 !== cur.sha256 || was.version !== cur.version)
        problems.push(`kind ${kind} is now version ${cur.version}: record it in ${SNAPSHOT}`)
    }
    for (const kind of Object.keys(recorded))
      if (!(kind in now)) problems.push(`kind ${kind} is gone: remove it from ${SNAPSHOT}`)
    expect(
      problems,
      `${problems.join('\n')}\n${SNAPSHOT} would be:\n${JSON.stringify(now, null, 2)}`,
    ).toEqual([])
  })
})
