import { parseDocument, visit } from 'yaml'

/**
 * clouds.yaml and secure.yaml read as openstacksdk reads them: `yaml.safe_load` (PyYAML, YAML 1.1 implicit
 * typing) or, for a path ending in `json`, `json.load`. Values keep the Python type they would have there:
 * strings, booleans, null, ints as bigint, floats as number, lists and mappings; a timestamp becomes the
 * string Python's `str()` gives a date. `pyStr` is Python's `str()` of such a value, which openstacksdk
 * applies to ids and names (`project_id: 0123` is the octal int 83 and becomes "83").
 */
export type PyValue = string | boolean | null | bigint | number | PyValue[] | { [k: string]: PyValue }

// PyYAML's implicit resolvers (yaml/resolver.py), tried in this order
const BOOL = /^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$/
const FLOAT =
  /^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/
const INT =
  /^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$/
const NULL = /^(?:~|null|Null|NULL|)$/

function yamlInt(text: string): bigint {
  let v = text.replace(/_/g, '')
  let sign = 1n
  if (v[0] === '-') sign = -1n
  if (v[0] === '+' || v[0] === '-') v = v.slice(1)
  if (v === '0') return 0n
  if (v.startsWith('0b')) return sign * BigInt(`0b${v.slice(2)}`)
  if (v.startsWith('0x')) return sign * BigInt(`0x${v.slice(2)}`)
  if (v[0] === '0') return sign * BigInt(`0o${v.slice(1)}`)
  if (v.includes(':')) {
    let n = 0n
    for (const part of v.split(':')) n = n * 60n + BigInt(part)
    return sign * n
  }
  return sign * BigInt(v)
}

function yamlFloat(text: string): number {
  let v = text.replace(/_/g, '').toLowerCase()
  let sign = 1
  if (v[0] === '-') sign = -1
  if (v[0] === '+' || v[0] === '-') v = v.slice(1)
  if (v === '.inf') return sign * Number.POSITIVE_INFINITY
  if (v === '.nan') return Number.NaN
  if (v.includes(':')) {
    let n = 0
    for (const part of v.split(':')) n = n * 60 + Number(part)
    return sign * n
  }
  return sign * Number(v)
}

/** The Python value PyYAML gives a plain (unquoted, untagged) scalar. */
export function resolvePlainScalar(text: string): PyValue {
  if (BOOL.test(text)) return /^(?:yes|true|on)$/i.test(text)
  if (FLOAT.test(text)) return yamlFloat(text)
  if (INT.test(text)) return yamlInt(text)
  if (NULL.test(text)) return null
  // timestamps stay text: str() of a PyYAML date is the same text
  return text
}

/** The Python value `json.load` gives a JSON scalar written without quotes. */
function resolveJsonScalar(text: string): PyValue {
  if (text === 'true') return true
  if (text === 'false') return false
  if (text === 'null') return null
  if (/^-?(?:0|[1-9][0-9]*)$/.test(text)) return BigInt(text)
  return Number(text)
}

/** Parse a clouds/secure file's text as openstacksdk does; throws with a one-line message when invalid. */
export function loadPyYaml(text: string, opts: { json?: boolean } = {}): PyValue {
  if (opts.json) {
    // validate as JSON first (JSON.parse is strict), then type the scalars as json.load does
    JSON.parse(text)
  }
  const doc = parseDocument(text, { version: '1.1', schema: 'failsafe', merge: true, uniqueKeys: false })
  if (doc.errors.length > 0) throw new Error(doc.errors[0]?.message.split('\n')[0] ?? 'invalid YAML')
  visit(doc, {
    Scalar(key, node) {
      if (key === 'key') return
      const raw = node.value
      if (typeof raw !== 'string') return
      if (node.type !== 'PLAIN') return // quoted and block scalars are strings
      if (node.tag && node.tag !== '!') {
        if (node.tag.endsWith(':str')) return
        if (node.tag.endsWith(':int')) node.value = yamlInt(raw)
        else if (node.tag.endsWith(':float')) node.value = yamlFloat(raw)
        else if (node.tag.endsWith(':bool')) node.value = /^(?:yes|true|on)$/i.test(raw)
        else if (node.tag.endsWith(':null')) node.value = null
        return
      }
      node.value = opts.json ? resolveJsonScalar(raw) : resolvePlainScalar(raw)
    },
  })
  return (doc.toJS({ maxAliasCount: -1 }) ?? null) as PyValue
}

/** Python's repr() of a float, which is also its str(). */
export function pyFloatRepr(x: number): string {
  if (Number.isNaN(x)) return 'nan'
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf'
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0'
  const [mant = '', expText = '0'] = x.toExponential().split('e')
  const exp = Number(expText)
  const neg = mant.startsWith('-')
  const digits = mant.replace('-', '').replace('.', '')
  let out: string
  if (exp < -4 || exp >= 16) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits
    out = `${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`
  } else if (exp < 0) {
    out = `0.${'0'.repeat(-exp - 1)}${digits}`
  } else if (digits.length <= exp + 1) {
    out = `${digits}${'0'.repeat(exp + 1 - digits.length)}.0`
  } else {
    out = `${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`
  }
  return neg ? `-${out}` : out
}

/** Python's str() of a loaded value. */
export function pyStr(v: PyValue | undefined): string {
  if (v === null || v === undefined) return 'None'
  if (typeof v === 'boolean') return v ? 'True' : 'False'
  if (typeof v === 'bigint') return v.toString()
  if (typeof v === 'number') return pyFloatRepr(v)
  if (typeof v === 'string') return v
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(', ')}]`
  return `{${Object.entries(v)
    .map(([k, x]) => `${pyRepr(k)}: ${pyRepr(x)}`)
    .join(', ')}}`
}

function pyRepr(v: PyValue): string {
  if (typeof v === 'string') return `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`
  return pyStr(v)
}

/** Python truthiness. */
export function pyTruthy(v: PyValue | undefined): boolean {
  if (v === null || v === undefined || v === false || v === '' || v === 0n || v === 0) return false
  if (Array.isArray(v)) return v.length > 0
  if (typeof v === 'object') return Object.keys(v).length > 0
  if (typeof v === 'number') return !Number.isNaN(v) ? v !== 0 : true
  return true
}

export function isMapping(v: PyValue | undefined): v is { [k: string]: PyValue } {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}
