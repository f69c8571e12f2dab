import { describe, expect, it } from 'vitest'
import { parseJson, runCli } from '../../helpers/cli.js'

// Bad input is rejected before any connection is made (no Keystone needed). Needs `npm run build`.
describe('idtool bench validate: usage errors', () => {
  it('--concurrency with --rate exits 2 with a one-line error and a hint', async () => {
    const r = await runCli(['bench', 'validate', '--token-count', '5', '--rate', '10', '--concurrency', '5'])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/^Error: --concurrency and --rate exclude each other$/m)
    expect(r.stderr).toMatch(/^Hint: closed model/m)
    expect(r.stderr).not.toMatch(/\n\s+at /) // no stack trace
    expect(r.stdout).toBe('')
  })

  it('no token source exits 2 and names both flags', async () => {
    const r = await runCli(['bench', 'validate', '--json'])
    expect(r.code).toBe(2)
    const out = parseJson<{ error: { message: string; exitCode: number } }>(r)
    expect(out.error.message).toMatch(/--tokens POOL.jsonl or --token-count N/)
    expect(out.error.exitCode).toBe(2)
  })

  it('a bad duration and an unknown method are usage errors', async () => {
    const d = await runCli(['bench', 'validate', '--token-count', '5', '--duration', 'soon'])
    expect(d.code).toBe(2)
    expect(d.stderr).toMatch(/^Error: --duration: invalid duration "soon"/m)
    const m = await runCli(['bench', 'validate', '--token-count', '5', '--http-method', 'POST'])
    expect(m.code).toBe(2)
  })
})
