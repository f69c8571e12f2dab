import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import {
  apacheHome,
  chownTree,
  keystoneView,
  placeKeystoneDir,
  removeApacheHome,
} from '../../src/lab/apache.js'
import { labPaths } from '../../src/lab/layout.js'
import type { LabSpec } from '../../src/results/types.js'

// Moving Keystone's files between the lab directory (uwsgi) and idtool-lab's directory (Apache as root), in
// temporary directories: the data moves and comes back unchanged, the ownership follows. Needs root (chown).
const root = process.getuid?.() === 0
const tmp = mkdtempSync(join(tmpdir(), 'idtool-apache-place-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

describe.skipIf(!root)('placeKeystoneDir', () => {
  const at = { root: true, home: join(tmp, 'var-lib-idtool-lab') }
  const p = labPaths(join(tmp, 'lab'))
  const spec: LabSpec = { workers: 1, cache: true, db: 'sqlite', ldapUsers: 1 }
  const apache: LabSpec = { ...spec, server: 'apache' }

  it('apache: keystone/ moves to idtool-lab’s directory and becomes a symlink; uwsgi: it comes back, owned by root', () => {
    mkdirSync(p.fernetKeys, { recursive: true })
    writeFileSync(p.keystoneDb, 'db')
    writeFileSync(join(p.fernetKeys, '0'), 'key0')
    const target = keystoneView(p, apache, at).keystoneDir
    expect(target.startsWith(at.home)).toBe(true)

    placeKeystoneDir(p, apache, at)
    expect(lstatSync(p.keystoneDir).isSymbolicLink()).toBe(true)
    expect(readlinkSync(p.keystoneDir)).toBe(target)
    expect(readFileSync(join(target, 'keystone.db'), 'utf8')).toBe('db')
    // the lab's own paths still reach the files (root goes through the symlink)
    expect(readFileSync(join(p.fernetKeys, '0'), 'utf8')).toBe('key0')
    placeKeystoneDir(p, apache, at) // again: nothing moves
    expect(readlinkSync(p.keystoneDir)).toBe(target)

    chownTree(apacheHome(p.dir, at), 65534, 65534)
    expect(statSync(join(target, 'fernet-keys', '0')).uid).toBe(65534)

    placeKeystoneDir(p, spec, at)
    expect(lstatSync(p.keystoneDir).isDirectory()).toBe(true)
    expect(readFileSync(p.keystoneDb, 'utf8')).toBe('db')
    expect(statSync(join(p.fernetKeys, '0')).uid).toBe(0)
    expect(statSync(p.keystoneDb).uid).toBe(0)
    expect(existsSync(apacheHome(p.dir, at))).toBe(false)
  })

  it('a fresh lab (no keystone/ yet) gets an empty directory there; removeApacheHome removes it', () => {
    const q = labPaths(join(tmp, 'lab2'))
    mkdirSync(q.dir)
    placeKeystoneDir(q, apache, at)
    expect(lstatSync(q.keystoneDir).isSymbolicLink()).toBe(true)
    expect(existsSync(keystoneView(q, apache, at).keystoneDir)).toBe(true)
    removeApacheHome(q.dir, at)
    expect(existsSync(apacheHome(q.dir, at))).toBe(false)
    // never outside idtool-lab's directories when not root
    removeApacheHome(q.dir, { ...at, root: false })
  })
})
