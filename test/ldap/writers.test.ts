import { BusyError, type Change, InsufficientAccessError } from 'ldapts'
import { describe, expect, it } from 'vitest'
import { IdtoolError } from '../../src/errors.js'
import { ExitCode } from '../../src/exit-codes.js'
import {
  type DirectoryEntry,
  DirectoryWriters,
  type DirectoryWritersOptions,
  type WriterClient,
  writeErrorKey,
} from '../../src/ldap/writers.js'
import { decodeHistogram } from '../../src/metrics/histogram.js'

// The writers against an in-process client (the real slapd: page-leak-writers.integration.test.ts). Only
// counts and values are asserted, never timings.

interface Call {
  conn: number
  dn: string
  operation: string
  type: string
  values: string[]
}

/** Writer connections that record every modify; `fail(n, call)` may throw for the n-th modify (0-based). */
function fakeDirectory(fail: (n: number, call: Call) => Error | undefined = () => undefined) {
  const calls: Call[] = []
  const state = { opened: 0, unbound: 0 }
  const connect = async (): Promise<WriterClient> => {
    const conn = state.opened++
    return {
      async modify(dn: string, change: Change) {
        await new Promise((r) => setImmediate(r))
        const call = {
          conn,
          dn,
          operation: change.operation,
          type: change.modification.type,
          values: change.modification.values.map(String),
        }
        const err = fail(calls.length, call)
        calls.push(call)
        if (err) throw err
      },
      async unbind() {
        state.unbound++
      },
    }
  }
  return { calls, state, connect }
}

const entries: DirectoryEntry[] = [
  { dn: 'uid=a,ou=Users,dc=example,dc=org', description: [] },
  { dn: 'uid=b,ou=Users,dc=example,dc=org', description: ['kept as it was'] },
  { dn: 'uid=c,ou=Users,dc=example,dc=org', description: ['one', 'two'] },
]

const options = (
  connect: DirectoryWritersOptions['connect'],
  more: Partial<DirectoryWritersOptions> = {},
): DirectoryWritersOptions => ({
  conn: { url: 'ldap://127.0.0.1:1', bindDn: 'cn=admin,dc=example,dc=org', password: 'x' },
  entries,
  writers: 2,
  ratePerSec: 1000,
  baselineMs: 40,
  connect,
  ...more,
})

describe('DirectoryWriters', () => {
  it('writes only the description, in turn, in both phases, then puts every entry back as it was', async () => {
    const dir = fakeDirectory()
    const w = await DirectoryWriters.open(options(dir.connect))
    expect(dir.state.opened).toBe(2)
    let progress = 0
    await w.baseline(undefined, () => progress++)
    w.startDuring()
    await new Promise((r) => setTimeout(r, 30))
    await w.stopDuring()
    const writesBeforeFinish = dir.calls.length
    await w.finish()
    await w.finish() // once only
    const r = w.result()

    expect(r.baseline.writes).toBeGreaterThan(3)
    expect(r.during.writes).toBeGreaterThan(3)
    for (const phase of [r.baseline, r.during]) {
      expect(phase.ok).toBe(phase.writes)
      expect(phase.errors).toEqual({})
      expect(decodeHistogram(phase.histogram!).totalCount).toBe(phase.ok)
      expect(phase.latencyMs.max).toBeGreaterThanOrEqual(phase.latencyMs.p50)
      expect(phase.eventLoopDelayMs!.max).toBeGreaterThanOrEqual(phase.eventLoopDelayMs!.p50)
    }
    expect(progress).toBe(r.baseline.writes)
    // the probe write, then the phases' writes, all replacing description on the entries in turn
    expect(writesBeforeFinish).toBe(1 + r.baseline.writes + r.during.writes)
    const writes = dir.calls.slice(0, writesBeforeFinish)
    expect(new Set(writes.map((c) => `${c.operation} ${c.type}`))).toEqual(new Set(['replace description']))
    expect(writes.slice(1, 4).map((c) => c.dn)).toEqual(entries.map((e) => e.dn))
    expect(writes.slice(1).every((c) => /^idtool page-leak-check write \d+$/.test(c.values[0]!))).toBe(true)
    // the restore: every entry once, its values as before (none: replace with nothing removes it)
    const restores = dir.calls.slice(writesBeforeFinish)
    expect(restores.map((c) => [c.dn, c.values]).sort()).toEqual(
      entries.map((e) => [e.dn, e.description]).sort(),
    )
    expect(r).toMatchObject({
      writers: 2,
      ratePerSec: 1000,
      attribute: 'description',
      bindDn: 'cn=admin,dc=example,dc=org',
      baselinePlannedMs: 40,
      entriesWritten: 3,
      restored: 3,
      restoreErrors: 0,
    })
    expect(dir.state.unbound).toBe(2)
  })

  it('counts failed writes by LDAP result, reconnects after busy, and warns once per cause', async () => {
    const dir = fakeDirectory((n, call) =>
      n > 0 && call.values[0]?.startsWith('idtool') && n % 3 === 0 ? new BusyError('busy') : undefined,
    )
    const warnings: string[] = []
    const w = await DirectoryWriters.open(options(dir.connect, { onWarn: (m) => warnings.push(m) }))
    await w.baseline()
    await w.finish()
    const { baseline } = w.result()
    expect(baseline.errors['busy (51)']).toBeGreaterThan(0)
    expect(baseline.ok + baseline.errors['busy (51)']!).toBe(baseline.writes)
    expect(decodeHistogram(baseline.histogram!).totalCount).toBe(baseline.ok)
    expect(dir.state.opened).toBeGreaterThan(2)
    expect(warnings.filter((m) => m.includes('busy (51)'))).toHaveLength(1)
  })

  it('refuses a bind DN that may not write (exit 2) and restores nothing', async () => {
    const dir = fakeDirectory(() => new InsufficientAccessError('no write access'))
    const err = await DirectoryWriters.open(options(dir.connect)).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(IdtoolError)
    expect((err as IdtoolError).exitCode).toBe(ExitCode.Usage)
    expect((err as IdtoolError).message).toBe(
      'the writers, bound as cn=admin,dc=example,dc=org, may not write description (LDAP result 50)',
    )
    expect((err as IdtoolError).hint).toMatch(/--write-bind-dn DN --write-password-file FILE/)
    expect(dir.calls).toHaveLength(1)
    expect(dir.state.unbound).toBe(2)
  })

  it('refuses a search with no entries to write', async () => {
    const dir = fakeDirectory()
    await expect(DirectoryWriters.open(options(dir.connect, { entries: [] }))).rejects.toThrow(
      '--writers: the search returns no entries to write',
    )
    expect(dir.state.opened).toBe(0)
  })

  it('counts a restore that fails and says which entries keep the written value', async () => {
    const dir = fakeDirectory((_, call) =>
      call.dn.startsWith('uid=b') && !call.values[0]?.startsWith('idtool')
        ? new BusyError('busy')
        : undefined,
    )
    const warnings: string[] = []
    const w = await DirectoryWriters.open(options(dir.connect, { onWarn: (m) => warnings.push(m) }))
    await w.baseline()
    await w.finish()
    expect(w.result()).toMatchObject({ entriesWritten: 3, restored: 2, restoreErrors: 1 })
    expect(warnings.at(-1)).toBe(
      '1 entries keep the description this run wrote (restore failed), e.g. uid=b,ou=Users,dc=example,dc=org',
    )
  })
})

describe('writeErrorKey', () => {
  it('names LDAP results with their code and transport failures by class', () => {
    expect(writeErrorKey(new BusyError('x'), 'ldap://h:1')).toEqual({ key: 'busy (51)', reconnect: true })
    expect(writeErrorKey(new InsufficientAccessError('x'), 'ldap://h:1')).toEqual({
      key: 'insufficientAccessRights (50)',
      reconnect: false,
    })
    const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })
    expect(writeErrorKey(reset, 'ldap://h:1').reconnect).toBe(true)
  })
})
