/**
 * The one way a saved result is read, shared by every reader (`report`, `report merge`, `gate`, `run`):
 * read the file, parse it, check it against its kind's JSON Schema (src/results/schemas/, generated from
 * types.ts by `npm run schemas`). A file that fails is bad input (exit 2) in one line naming the file, the
 * field and the problem, e.g. `r.json: points[2].rps: missing (expected a number)`, instead of a renderer
 * crashing on it later.
 *
 * ajv is loaded and each kind's validator compiled on the first load of that kind, never at start-up.
 */
import { createRequire } from 'node:module'
import type { ErrorObject, ValidateFunction } from 'ajv'
import { UsageError } from '../errors.js'
import { readInputFile } from './files.js'
import benchMixed from './schemas/bench.mixed.schema.json' with { type: 'json' }
import benchSweep from './schemas/bench.sweep.schema.json' with { type: 'json' }
import benchValidate from './schemas/bench.validate.schema.json' with { type: 'json' }
import gate from './schemas/gate.schema.json' with { type: 'json' }
import pageLeakCheck from './schemas/ldap.page-leak-check.schema.json' with { type: 'json' }
import revokeBulk from './schemas/revoke-bulk.schema.json' with { type: 'json' }
import tokensIssue from './schemas/tokens.issue.schema.json' with { type: 'json' }
import type { AnyResult } from './types.js'

/** A saved result of any kind. */
export type Result = AnyResult
export type ResultKind = Result['kind']
/** The result of one kind, e.g. `ResultOf<'bench.validate'>`. */
export type ResultOf<K extends ResultKind> = Extract<Result, { kind: K }>

interface Schema {
  $ref?: string
  definitions?: Record<string, Schema>
  type?: string | string[]
  properties?: Record<string, Schema>
  items?: Schema | Schema[]
  anyOf?: Schema[]
  enum?: unknown[]
  const?: unknown
  minItems?: number
  maxItems?: number
}

/** The JSON Schema of each kind (the files in src/results/schemas/, shipped with the package). */
export const RESULT_SCHEMAS: Record<ResultKind, object> = {
  'bench.validate': benchValidate,
  'bench.sweep': benchSweep,
  'bench.mixed': benchMixed,
  'ldap.page-leak-check': pageLeakCheck,
  'revoke-bulk': revokeBulk,
  'tokens.issue': tokensIssue,
  gate,
}

export const RESULT_KINDS = Object.keys(RESULT_SCHEMAS) as ResultKind[]

const resolve = (s: Schema, root: Schema): Schema =>
  s.$ref ? resolve(root.definitions?.[s.$ref.replace('#/definitions/', '')] ?? {}, root) : s

/** The version this idtool writes of a kind (the `version` const of its schema). */
export function resultVersion(kind: ResultKind): number {
  const root = RESULT_SCHEMAS[kind] as Schema
  return resolve(root, root).properties?.version?.const as number
}

export interface LoadOptions<K extends ResultKind> {
  /** the kinds this reader takes; any other kind is refused (exit 2). Default: every kind. */
  kinds?: readonly K[]
  /** what the refusal of another kind says after `<file> is a <kind> result: ` */
  otherKind?: string
}

const SAVE_HINT = 'give the JSON file a command saved with --out (or its --json output).'

/** Read, parse and check a saved result file (exit 2 naming the file when it cannot be used). */
export function loadResult<K extends ResultKind = ResultKind>(
  path: string,
  opts: LoadOptions<K> = {},
): ResultOf<K> {
  return parseResult(readInputFile(path, undefined, SAVE_HINT), path, opts)
}

/** Parse and check the text of a saved result; `source` names it in messages. */
export function parseResult<K extends ResultKind = ResultKind>(
  text: string,
  source: string,
  opts: LoadOptions<K> = {},
): ResultOf<K> {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (err) {
    throw new UsageError(`${source} is not JSON: ${(err as Error).message}`, { hint: SAVE_HINT })
  }
  return checkResult(value, source, opts)
}

/** The text a result file holds (what `--out` writes and `--json` prints). */
export function resultJson(result: Result | Result[]): string {
  return `${JSON.stringify(result, null, 2)}\n`
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v)

/**
 * Check a parsed saved result: an object, not an error envelope, a known (and wanted) kind, a version this
 * idtool reads, and the schema of its kind. Bad input is a UsageError (exit 2) naming `source` and the field.
 */
export function checkResult<K extends ResultKind = ResultKind>(
  value: unknown,
  source: string,
  opts: LoadOptions<K> = {},
): ResultOf<K> {
  if (!isObject(value))
    throw new UsageError(`${source} is not an idtool result (not a JSON object)`, { hint: SAVE_HINT })
  if ('error' in value && !('kind' in value)) {
    throw new UsageError(`${source} holds an error, not a result`, {
      hint: 'the command that wrote it failed; see its message and run it again.',
    })
  }
  const kind = value.kind
  if (typeof kind !== 'string') {
    throw new UsageError(`${source} is not an idtool result (no "kind" field)`, { hint: SAVE_HINT })
  }
  if (!(RESULT_KINDS as string[]).includes(kind)) {
    throw new UsageError(`${source} is not an idtool result (kind ${JSON.stringify(kind)})`, {
      hint: `known kinds: ${RESULT_KINDS.join(', ')}.`,
    })
  }
  const k = kind as ResultKind
  if (opts.kinds && !(opts.kinds as readonly string[]).includes(k)) {
    throw new UsageError(
      `${source} is a ${k} result: ${opts.otherKind ?? `give a ${opts.kinds.join(' or ')} result`}`,
    )
  }
  const current = resultVersion(k)
  const version = value.version
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1 || version > current) {
    throw new UsageError(`${source}: ${k} version ${JSON.stringify(version ?? null)} is not supported`, {
      hint: `this idtool reads version ${current === 1 ? '1' : `1 to ${current}`}; use the idtool version that wrote the file.`,
    })
  }
  // an older version is read when it fits today's shape (fields added since are optional)
  const body = version === current ? value : { ...value, version: current }
  const validate = validator(k)
  if (!validate(body)) {
    const problem = firstProblem(validate.errors ?? [], RESULT_SCHEMAS[k] as Schema, body)
    throw new UsageError(`${source}: ${problem.path}: ${problem.message}`, {
      hint: `the file is not a complete ${k} result (edited, truncated or written by another tool); save it again with --out.`,
    })
  }
  return value as unknown as ResultOf<K>
}

// ---------------------------------------------------------------------------------------------------------
// ajv, loaded on first use

type AjvClass = typeof import('ajv').default
const validators = new Map<ResultKind, ValidateFunction>()
let ajv: InstanceType<AjvClass> | undefined

function validator(kind: ResultKind): ValidateFunction {
  let v = validators.get(kind)
  if (!v) {
    if (!ajv) {
      const Ajv = (createRequire(import.meta.url)('ajv') as { default: AjvClass }).default
      // verbose: errors carry their schema, which names what was expected; strict off: the generated
      // schemas use plain draft-07 tuples. The schemas are generated and checked by the unit tests, so
      // neither checked against the meta-schema nor optimised here: compiling bench.sweep's takes a
      // third of the time.
      ajv = new Ajv({
        allErrors: false,
        verbose: true,
        strict: false,
        validateSchema: false,
        code: { optimize: false },
      })
    }
    v = ajv.compile(RESULT_SCHEMAS[kind])
    validators.set(kind, v)
  }
  return v
}

// ---------------------------------------------------------------------------------------------------------
// ajv's errors as one line: `points[2].rps: missing (expected a number)`

/** A field that does not have its expected form. */
export interface Problem {
  path: string
  message: string
}

function describeValue(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'an array'
  if (typeof v === 'object') return 'an object'
  if (typeof v === 'string') return `a string (${JSON.stringify(v.length > 30 ? `${v.slice(0, 30)}…` : v)})`
  return `${typeof v === 'number' ? 'a number' : `a ${typeof v}`} (${String(v)})`
}

const TYPE_WORDS: Record<string, string[]> = {
  number: ['a number'],
  integer: ['a whole number'],
  string: ['a string'],
  boolean: ['true', 'false'],
  object: ['an object'],
  null: ['null'],
}

/** The alternatives a schema allows, in words: ['a number', 'null']. */
function alternatives(schema: Schema, root: Schema): string[] {
  const s = resolve(schema, root)
  if (s.anyOf) return s.anyOf.flatMap((b) => alternatives(b, root))
  if (s.enum) return [`one of ${s.enum.map((x) => JSON.stringify(x)).join(', ')}`]
  if (s.const !== undefined) return [JSON.stringify(s.const)]
  const types = Array.isArray(s.type) ? s.type : s.type ? [s.type] : []
  return types.flatMap((t) => {
    if (t !== 'array') return TYPE_WORDS[t] ?? [t]
    if (Array.isArray(s.items)) return [`an array of ${s.items.length}`]
    const of = s.items ? expected(s.items, root).replace(/^an? /, '') : 'value'
    const n = s.minItems !== undefined && s.minItems === s.maxItems ? `${s.minItems} ` : ''
    return [`an array of ${n}${of}s`]
  })
}

/** What a schema expects, in words: `a number, true, false or null`. */
function expected(schema: Schema, root: Schema): string {
  const alts = [...new Set(alternatives(schema, root))]
  return alts.length < 2 ? (alts[0] ?? 'a value') : `${alts.slice(0, -1).join(', ')} or ${alts.at(-1)}`
}

/** A JSON pointer into `data` as a field path: `/points/2/rps` -> `points[2].rps`. */
function fieldPath(pointer: string, data: unknown): string {
  let path = ''
  let at: unknown = data
  for (const raw of pointer.split('/').slice(1)) {
    const k = raw.replace(/~1/g, '/').replace(/~0/g, '~')
    if (Array.isArray(at)) path += `[${k}]`
    else if (/^[A-Za-z_][\w-]*$/.test(k)) path += path ? `.${k}` : k
    else path += `[${JSON.stringify(k)}]`
    at = (at as Record<string, unknown> | undefined)?.[k]
  }
  return path
}

function valueAt(pointer: string, data: unknown): unknown {
  let at = data
  for (const raw of pointer.split('/').slice(1))
    at = (at as Record<string, unknown> | undefined)?.[raw.replace(/~1/g, '/').replace(/~0/g, '~')]
  return at
}

/**
 * The problem ajv stopped at (it stops at the first, allErrors off). A value that matches no branch of an
 * `anyOf` (X or null) is named as a whole, unless it failed inside (a field of an object): then that field.
 */
function firstProblem(errors: ErrorObject[], root: Schema, data: unknown): Problem {
  const last = errors.at(-1)
  if (!last) return { path: '', message: 'does not fit its schema' }
  if (last.keyword === 'anyOf') {
    const inside = errors.filter(
      (e) =>
        e.instancePath.startsWith(`${last.instancePath}/`) ||
        (e.instancePath === last.instancePath && e.keyword === 'required'),
    )
    if (inside.length) return firstProblem(inside, root, data)
  }
  if (last.keyword === 'required') {
    const missing = (last.params as { missingProperty: string }).missingProperty
    const field = resolve(last.parentSchema as Schema, root).properties?.[missing] ?? {}
    return {
      path: fieldPath(`${last.instancePath}/${missing.replace(/~/g, '~0').replace(/\//g, '~1')}`, data),
      message: `missing (expected ${expected(field, root)})`,
    }
  }
  const at = fieldPath(last.instancePath, data)
  if (['type', 'enum', 'const', 'anyOf', 'minItems', 'maxItems'].includes(last.keyword)) {
    return {
      path: at,
      message: `expected ${expected(last.parentSchema as Schema, root)}, got ${describeValue(valueAt(last.instancePath, data))}`,
    }
  }
  return { path: at, message: last.message ?? 'does not fit its schema' }
}
