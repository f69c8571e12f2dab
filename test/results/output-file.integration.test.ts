import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../helpers/cli.js'
import { LAB_ENV } from '../integration/lab-env.js'

// A real run on the lab whose --out and --hgrm sit on a full file system (a 64 KiB tmpfs, filled): the
// measurement must not be lost (issue 12 item 4). Needs root to mount; skipped otherwise.
const dir = mkdtempSync(join(tmpdir(), 'idtool-fullfs-'))
let mounted = false
beforeAll(() => {
  if (process.getuid?.() !== 0) return
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir], { stdio: 'ignore' })
    mounted = true
    writeFileSync(join(dir, 'fill'), Buffer.alloc(64 * 1024))
  } catch {
    /* no mount: skipped */
  }
})
afterAll(() => {
  if (mounted) execFileSync('umount', [dir], { stdio: 'ignore' })
  rmSync(dir, { recursive: true, force: true })
})

describe('bench validate on a full disk (issue 12 item 4)', () => {
  it('the run finishes, no partial file is left, the result is saved to a fallback named in the error, exit 1', async (ctx) => {
    if (!mounted) return ctx.skip()
    const r = await runCli(
      [
        'bench',
        'validate',
        '--token-count',
        '5',
        '--concurrency',
        '2',
        '--requests',
        '200',
        '--out',
        join(dir, 'r.json'),
        '--hgrm',
        join(dir, 'r.hgrm'),
      ],
      { env: LAB_ENV, timeoutMs: 120_000 },
    )
    expect(r.code, r.stderr).toBe(1)
    expect(readdirSync(dir)).toEqual(['fill']) // no 0-byte or partial file, no temporary file
    expect(r.stdout).toMatch(/GET http:\/\/127\.0\.0\.1/) // the table is printed
    expect(r.stderr).toMatch(/^Error: cannot write .*r\.json: no space left on device \(ENOSPC\)$/m)
    const saved = [...r.stderr.matchAll(/^Hint: saved to (\S+) instead: free space/gm)].map((m) => m[1]!)
    expect(saved).toHaveLength(2)
    try {
      const result = JSON.parse(readFileSync(saved[0]!, 'utf8')) as {
        kind: string
        requests: { total: number }
      }
      expect(result.kind).toBe('bench.validate')
      expect(result.requests.total).toBe(200)
      expect(readFileSync(saved[1]!, 'utf8')).toMatch(/Value\s+Percentile/)
    } finally {
      for (const f of saved) if (existsSync(f)) rmSync(f)
    }
  })
})
