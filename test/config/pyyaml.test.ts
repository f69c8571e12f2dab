import { execFileSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { loadPyYaml, pyStr } from '../../src/config/pyyaml.js'

// Scalars whose typing differs between YAML 1.1 (PyYAML), YAML 1.2 and the yaml package's own 1.1 schema
const SCALARS = [
  '0123',
  '0x1f',
  '12e3',
  '1.0',
  '1_000',
  '1:30',
  '1:30.5',
  'no',
  'On',
  'OFF',
  '~',
  'null',
  '2001-12-14',
  '.inf',
  '-.inf',
  '.nan',
  '0o17',
  '1e3',
  '1.5e+3',
  '0b101',
  '08',
  '+12',
  '-7',
  'Yes',
  'y',
  'n',
  '1e16',
  '0.0001',
  '123.456',
  '"0123"',
  "'yes'",
  '',
  '-0.5',
  '1.',
  '.5',
  '0',
  '00',
  '1.5e-7',
  '12345678901234567890',
  '!!str 0123',
  'abc',
  '3',
]

describe('loadPyYaml', () => {
  it('types every scalar as PyYAML does (str() of each value compared with /usr/bin/python3)', () => {
    const doc = SCALARS.map((s, i) => `k${i}: ${s}`).join('\n')
    const py = execFileSync(
      '/usr/bin/python3',
      [
        '-c',
        'import sys,yaml,json; d=yaml.safe_load(sys.stdin); print(json.dumps({k: str(v) for k, v in d.items()}))',
      ],
      { input: doc, encoding: 'utf8' },
    )
    const expected = JSON.parse(py) as Record<string, string>
    const ours = loadPyYaml(doc) as Record<string, never>
    const got = Object.fromEntries(Object.entries(ours).map(([k, v]) => [k, pyStr(v)]))
    expect(got).toEqual(expected)
  })

  it('keeps the Python types: bool, None, int, float, str', () => {
    expect(loadPyYaml('a: no\nb:\nc: 0123\nd: 1.0\ne: y\nf: [1, "1"]')).toEqual({
      a: false,
      b: null,
      c: 83n,
      d: 1,
      e: 'y',
      f: [1n, '1'],
    })
  })

  it('reads JSON as json.load does', () => {
    expect(loadPyYaml('{"a": 1, "b": 1.0, "c": "0123", "d": true, "e": null}', { json: true })).toEqual({
      a: 1n,
      b: 1,
      c: '0123',
      d: true,
      e: null,
    })
    expect(pyStr((loadPyYaml('{"b": 1.0}', { json: true }) as { b: number }).b)).toBe('1.0')
    expect(() => loadPyYaml('{"a": 1,}', { json: true })).toThrow()
  })

  it('follows aliases and merge keys', () => {
    expect(loadPyYaml('base: &b\n  x: 0123\nc:\n  <<: *b\n  y: yes\n')).toEqual({
      base: { x: 83n },
      c: { x: 83n, y: true },
    })
  })
})
