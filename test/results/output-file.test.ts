import { execFileSync } from 'node:child_process'
import * as realFs from 'node:fs'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { FileSystemError, toIdtoolError, UsageError } from '../../src/errors.js'
import {
  checkOutputPath,
  makeDirs,
  type OutputFs,
  saveOutputs,
  writeFileAtomic,
} from '../../src/results/output-file.js'
import { runCli } from '../helpers/cli.js'

const root = mkdtempSync(join(tmpdir(), 'idtool-output-test-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))
let n = 0
const dir = () => {
  const d = join(root, `d${++n}`)
  mkdirSync(d)
  return d
}
const enospc = () =>
  Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write' })

/** A writeSync that writes `limit` bytes in all, then fails with ENOSPC, as a full disk does. */
function fullDiskFs(limit: number): Partial<OutputFs> {
  let written = 0
  return {
    writeSync: ((fd: number, buf: Buffer, off: number, len: number) => {
      const room = limit - written
      if (room <= 0) throw enospc()
      const k = Math.min(room, len)
      // real partial write: the first bytes reach the file
      const wrote = realFs.writeSync(fd, buf, off, k)
      written += wrote
      return wrote
    }) as OutputFs['writeSync'],
  }
}

function expectUsage(fn: () => void, re: RegExp): UsageError {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError)
    expect((err as UsageError).exitCode).toBe(2)
    expect((err as UsageError).message).toMatch(re)
    expect((err as UsageError).hint).toBeTruthy()
    return err as UsageError
  }
  throw new Error('expected a usage error')
}

describe('output paths are checked before any work (issue 12 item 4)', () => {
  it('a missing directory is refused (exit 2) with the mkdir hint, and nothing is created', () => {
    const d = dir()
    const e = expectUsage(
      () => checkOutputPath(join(d, 'no', 'such.json'), '--out'),
      /--out .*: the directory .* does not exist/,
    )
    expect(e.hint).toMatch(/mkdir -p/)
    expect(existsSync(join(d, 'no'))).toBe(false)
  })

  it('/proc/idtool-no/such.json is refused at once (Node recursive mkdir would loop forever there)', () => {
    const t0 = Date.now()
    expectUsage(
      () => checkOutputPath('/proc/idtool-no/such.json', '--out'),
      /\/proc\/idtool-no does not exist/,
    )
    expect(Date.now() - t0).toBeLessThan(1000)
  })

  it('a directory where no file can be created (/proc) is refused, also as root', () => {
    const e = expectUsage(
      () => checkOutputPath('/proc/such.json', '--hgrm'),
      /--hgrm \/proc\/such.json: cannot write in \/proc/,
    )
    expect(e.hint).toMatch(/choose another directory/)
  })

  it('a file in place of the directory, and a directory in place of the file, are refused', () => {
    const d = dir()
    writeFileSync(join(d, 'plain'), 'x')
    expectUsage(() => checkOutputPath(join(d, 'plain', 'r.json'), '--out'), /plain/)
    expectUsage(() => checkOutputPath(d, '--junit'), /is a directory/)
  })

  it('a writable path passes and leaves no probe file behind', () => {
    const d = dir()
    checkOutputPath(join(d, 'r.json'), '--out')
    expect(readdirSync(d)).toEqual([])
  })

  it('makeDirs is bounded: /proc/idtool-no/a/b fails at once instead of looping', () => {
    const t0 = Date.now()
    expect(() => makeDirs('/proc/idtool-no/a/b')).toThrow(FileSystemError)
    expect(Date.now() - t0).toBeLessThan(1000)
    const d = dir()
    makeDirs(join(d, 'x', 'y', 'z'))
    expect(existsSync(join(d, 'x', 'y', 'z'))).toBe(true)
  })
})

describe('files are written atomically (issue 12 item 4)', () => {
  it('a full disk half-way through leaves no partial file and no temporary file', () => {
    const d = dir()
    const path = join(d, 'r.json')
    expect(() => writeFileAtomic(path, 'x'.repeat(10_000), { fs: fullDiskFs(4096) })).toThrow(/ENOSPC/)
    expect(readdirSync(d)).toEqual([])
  })

  it('an existing file keeps its old content when the new one cannot be written', () => {
    const d = dir()
    const path = join(d, 'r.json')
    writeFileSync(path, 'old')
    expect(() => writeFileAtomic(path, 'new content', { fs: fullDiskFs(3) })).toThrow(/ENOSPC/)
    expect(readFileSync(path, 'utf8')).toBe('old')
    expect(readdirSync(d)).toEqual(['r.json'])
    writeFileAtomic(path, 'new content')
    expect(readFileSync(path, 'utf8')).toBe('new content')
  })

  it('on a real full tmpfs: ENOSPC, nothing left behind (root only)', (ctx) => {
    if (process.getuid?.() !== 0) return ctx.skip()
    const d = dir()
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', d], { stdio: 'ignore' })
    } catch {
      return ctx.skip()
    }
    try {
      writeFileSync(join(d, 'fill'), Buffer.alloc(64 * 1024)) // exactly full
      expect(() => writeFileAtomic(join(d, 'r.json'), 'y'.repeat(20_000))).toThrow(/ENOSPC/)
      expect(readdirSync(d)).toEqual(['fill'])
    } finally {
      execFileSync('umount', [d], { stdio: 'ignore' })
    }
  })
})

describe('a failed write after a run does not lose the result (issue 12 item 4)', () => {
  const capture = () => {
    const out = { stdout: '', stderr: '' }
    return {
      out,
      stdout: (t: string) => {
        out.stdout += t
      },
      stderr: (t: string) => {
        out.stderr += t
      },
    }
  }

  it('saved to a fallback file named in the error', () => {
    const d = dir()
    const fallbackDir = dir()
    const c = capture()
    // the target's directory is on a "full disk"; the fallback's is fine
    const failed = saveOutputs([{ path: join(d, 'r.json'), content: () => '{"kind":"bench.validate"}\n' }], {
      json: false,
      stdout: c.stdout,
      stderr: c.stderr,
      fallbackDir,
      fs: {
        openSync: ((p: string, ...rest: unknown[]) => {
          if (p.startsWith(d)) throw Object.assign(new Error('ENOSPC'), { code: 'ENOSPC', path: p })
          return (realFs.openSync as (...a: unknown[]) => number)(p, ...rest)
        }) as OutputFs['openSync'],
      },
    })
    expect(failed).toEqual([join(d, 'r.json')])
    expect(c.out.stderr).toMatch(/^Error: cannot write .*r\.json: no space left on device \(ENOSPC\)$/m)
    const saved = /^Hint: saved to (\S+) instead/m.exec(c.out.stderr)?.[1]
    expect(saved).toBeTruthy()
    expect(readFileSync(saved!, 'utf8')).toBe('{"kind":"bench.validate"}\n')
    expect(readdirSync(d)).toEqual([])
    expect(c.out.stdout).toBe('')
  })

  it('printed on stdout when no fallback can be written either (not with --json: the result is there)', () => {
    const d = dir()
    const failing: Partial<OutputFs> = {
      writeSync: (() => {
        throw enospc()
      }) as OutputFs['writeSync'],
    }
    const c = capture()
    const failed = saveOutputs([{ path: join(d, 'r.json'), content: () => 'RESULT' }], {
      json: false,
      ...c,
      fs: failing,
      fallbackDir: d,
    })
    expect(failed).toHaveLength(1)
    expect(c.out.stdout).toBe('RESULT\n')
    expect(c.out.stderr).toMatch(/its content follows on stdout/)
    expect(readdirSync(d)).toEqual([])
    const j = capture()
    saveOutputs([{ path: join(d, 'r.json'), content: () => 'RESULT' }], {
      json: true,
      ...j,
      fs: failing,
      fallbackDir: d,
    })
    expect(j.out.stdout).toBe('')
    expect(j.out.stderr).toMatch(/the result is in the JSON on stdout/)
  })
})

describe('output paths in the CLI (issue 12 item 4; needs the build)', () => {
  it('bench validate -d 5s --out /proc/idtool-no/such.json ends at once with exit 2, naming the path', async () => {
    const t0 = Date.now()
    const r = await runCli(
      ['bench', 'validate', '-d', '5s', '--token-count', '5', '--out', '/proc/idtool-no/such.json'],
      {
        timeoutMs: 20_000,
      },
    )
    expect(r.signal).toBeNull()
    expect(r.code).toBe(2)
    expect(Date.now() - t0).toBeLessThan(15_000)
    expect(r.stderr).toMatch(
      /^Error: --out \/proc\/idtool-no\/such\.json: the directory \/proc\/idtool-no does not exist$/m,
    )
    expect(r.stderr).toMatch(/^Hint: idtool does not create output directories/m)
    expect(r.stdout).toBe('')
  })

  it('lab up --dir /proc/idtool-no/lab ends at once (bounded mkdir), exit 2', async () => {
    const t0 = Date.now()
    const r = await runCli(['lab', 'up', '--dir', '/proc/idtool-no/lab'], { timeoutMs: 30_000 })
    expect(r.signal).toBeNull()
    expect(r.code, r.stderr).toBe(2)
    expect(Date.now() - t0).toBeLessThan(25_000)
    // on a machine without the lab's packages, that is said first; else the directory is named
    expect(r.stderr).toMatch(
      /^Error: (cannot create \/proc\/idtool-no: no such file or directory \(ENOENT\)|the lab needs packages)/m,
    )
  }, 40_000)

  it('one rule for every command: a missing output directory is exit 2, nothing created', async () => {
    const d = dir()
    const missing = join(d, 'missing')
    const cases = [
      ['report', '--out', join(missing, 'r.txt'), 'x.json'],
      ['report', 'merge', '--out', join(missing, 'm.json'), 'x.json'],
      ['gate', '--junit', join(missing, 'j.xml'), 'x.json'],
      ['ldap', 'page-leak-check', '--out', join(missing, 'l.json')],
      ['bench', 'sweep', '--revocations', '0,10', '--html', join(missing, 's.html')],
      ['run', 'scenarios/ci-smoke.yaml', '--markdown', join(missing, 'm.md')],
    ]
    for (const args of cases) {
      const r = await runCli(args, { timeoutMs: 20_000 })
      expect(r.code, `${args.join(' ')}\n${r.stderr}`).toBe(2)
      expect(r.stderr, args.join(' ')).toMatch(/^Error: --\S+ .*: the directory .*missing does not exist$/m)
    }
    expect(existsSync(missing)).toBe(false)
  }, 90_000)
})

describe('file-system errors are named as such (issue 12 item 9)', () => {
  it('an unwrapped ENOSPC is a file-system error with the path and the fix, never a "network error"', () => {
    const e = toIdtoolError(
      Object.assign(new Error('ENOSPC: no space left on device, write'), {
        code: 'ENOSPC',
        syscall: 'write',
        path: '/x/pool.jsonl',
      }),
    )
    expect(e.message).toBe('cannot write /x/pool.jsonl: no space left on device (ENOSPC)')
    expect(e.message).not.toMatch(/network/)
    expect(e.hint).toMatch(/free space .*df -h \/x/)
    const bare = toIdtoolError(enospc())
    expect(bare.message).toMatch(/^file-system error: no space left on device \(ENOSPC\)/)
    expect(bare.hint).toBeTruthy()
    // a socket's errors stay network errors
    expect(toIdtoolError(Object.assign(new Error('x'), { code: 'ECONNREFUSED' })).message).toMatch(
      /network error/,
    )
  })
})
