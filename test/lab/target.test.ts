import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { labPaths } from '../../src/lab/layout.js'
import { isLabTarget, labIsSetUp, labServiceAt } from '../../src/lab/target.js'

const tmp = mkdtempSync(join(tmpdir(), 'idtool-lab-target-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

function labDir(name: string, setUp: boolean): string {
  const p = labPaths(join(tmp, name))
  mkdirSync(p.keystoneDir, { recursive: true })
  if (setUp) {
    writeFileSync(p.state, '{}')
    writeFileSync(p.keystoneConf, '')
  }
  return p.dir
}

describe('the one "is this the lab" check', () => {
  it('names the lab service by a loopback address and a lab port', () => {
    for (const url of [
      'http://127.0.0.1:5000/v3',
      'https://localhost:5443/v3',
      'https://[::1]:5444',
      'http://127.0.0.1:5001/v3',
      'http://127.0.0.1:5016',
    ])
      expect(labServiceAt(url), url).toBe('keystone')
    expect(labServiceAt('ldap://127.0.0.1:3890')).toBe('ldap')
    expect(labServiceAt('LDAP://127.0.0.1:3890/ ')).toBe('ldap')
    for (const url of [
      'http://10.0.0.1:5000/v3',
      'http://127.0.0.1:5017',
      'http://127.0.0.1:8080',
      'ldap://127.0.0.1:389',
      'ldaps://127.0.0.1:3890',
      'not a url',
    ])
      expect(labServiceAt(url), url).toBeUndefined()
  })

  it('needs a lab set up in the directory (state.json and keystone.conf)', () => {
    const up = labDir('up', true)
    const empty = labDir('empty', false)
    expect(labIsSetUp(up)).toBe(true)
    expect(labIsSetUp(empty)).toBe(false)
    expect(isLabTarget('http://127.0.0.1:5000/v3', up)).toBe(true)
    expect(isLabTarget('http://127.0.0.1:5000/v3', empty)).toBe(false)
    expect(isLabTarget('https://keystone.example.org:5000/v3', up)).toBe(false)
  })
})
