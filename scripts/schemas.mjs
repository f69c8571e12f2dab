#!/usr/bin/env node
// Write the JSON Schema of every result kind from the TypeScript types that declare them
// (src/results/types.ts, the members of `AnyResult`) into src/results/schemas/<kind>.schema.json, with
// ts-json-schema-generator. `npm run schemas` after changing a result type; `--check` writes nothing and
// exits 1 naming the stale files (the unit tests run it, so a type changed without its schema fails).
import { readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { createGenerator } from 'ts-json-schema-generator'

const root = fileURLToPath(new URL('..', import.meta.url))
const dir = `${root}src/results/schemas/`

const generator = createGenerator({
  path: `${root}src/results/types.ts`,
  tsconfig: `${root}tsconfig.json`,
  type: '*',
  skipTypeCheck: true,
  // extra fields are allowed: a newer writer of the same version may add optional ones
  additionalProperties: true,
  sortProps: true,
})

/** The schema of each kind, by kind, as the files hold them. */
function generate() {
  const members = generator.createSchema('AnyResult').definitions.AnyResult.anyOf
  const out = {}
  for (const { $ref } of members) {
    const name = decodeURIComponent($ref.replace('#/definitions/', ''))
    const schema = generator.createSchema(name)
    const kind = schema.definitions[name].properties.kind.const
    out[kind] = {
      $schema: schema.$schema,
      title: `idtool ${kind} result`,
      $ref: schema.$ref,
      definitions: schema.definitions,
    }
  }
  return out
}

const text = (schema) => `${JSON.stringify(schema, null, 2)}\n`
const schemas = generate()
const want = new Map(Object.entries(schemas).map(([kind, s]) => [`${kind}.schema.json`, text(s)]))
const have = readdirSync(dir).filter((f) => f.endsWith('.schema.json'))
const read = (f) => {
  try {
    return readFileSync(dir + f, 'utf8')
  } catch {
    return undefined
  }
}
const stale = [...want].filter(([f, t]) => read(f) !== t).map(([f]) => f)
const extra = have.filter((f) => !want.has(f))

if (process.argv.includes('--check')) {
  if (stale.length || extra.length) {
    console.error(
      `src/results/schemas/ is stale (${[...stale, ...extra].join(', ')}): run npm run schemas and commit the result`,
    )
    process.exit(1)
  }
  console.error(`src/results/schemas/: ${want.size} schemas up to date`)
} else {
  for (const f of stale) writeFileSync(dir + f, want.get(f))
  for (const f of extra) unlinkSync(dir + f)
  console.error(`src/results/schemas/: ${want.size} schemas, ${stale.length + extra.length} rewritten`)
}
