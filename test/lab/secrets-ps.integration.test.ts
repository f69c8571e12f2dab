import { execFile } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parseJson, runCli } from '../helpers/cli.js'
import { LAB, LAB_ENV } from '../integration/lab-env.js'

// Issue 12 item 3 on the real lab: while `lab up` runs, no lab secret is on any command line `ps` shows, and
// the lab's pidfiles are 0644 at most afterwards.
//
// What this covers: an idempotent `lab up` on the running (shared) lab: it reads every secret file, checks the
// haproxy config, authenticates as admin with the password, checks (and if needed re-creates) the application
// credential and rewrites clouds.yaml / secure.yaml, with every child it starts, sampled with `ps` every
// ~50 ms. What it cannot cover: the first-time paths (keystone-manage bootstrap, slapadd, mariadb's CREATE
// USER), which would need the lab down or a second lab on other ports; their argv, environment and stdin are
// checked at unit level (test/lab/secrets-argv.test.ts). A child living less than ~50 ms can slip between
// samples.

/** Every secret value of the lab, read from its secret files (each at least 8 characters). */
function labSecrets(): string[] {
  const out: string[] = []
  for (const f of readdirSync(LAB.secrets)) {
    const text = readFileSync(join(LAB.secrets, f), 'utf8').trim()
    if (f.endsWith('.json')) {
      // the application credential: its secret (the id is no secret)
      const j = JSON.parse(text) as { secret?: unknown }
      if (typeof j.secret === 'string') out.push(j.secret)
    } else out.push(text)
  }
  return [...new Set(out)].filter((s) => s.length >= 8)
}

function psArgs(): Promise<string> {
  return new Promise((resolve) => {
    execFile('ps', ['-eo', 'args'], { maxBuffer: 16 * 1024 * 1024, timeout: 5_000 }, (_err, stdout) =>
      resolve(String(stdout ?? '')),
    )
  })
}

describe('lab secrets stay off command lines', () => {
  it('ps sampled every ~50 ms during `lab up` shows no secret; lab pidfiles are 0644 at most', async () => {
    const secrets = labSecrets()
    const appcred = JSON.parse(readFileSync(LAB.appCredFile, 'utf8')) as { secret?: string }
    expect(secrets.length).toBeGreaterThanOrEqual(4)
    expect(secrets).toContain(readFileSync(LAB.adminPasswordFile, 'utf8').trim())
    if (appcred.secret) expect(secrets).toContain(appcred.secret)

    const samples: string[] = []
    let running = true
    const sampler = (async () => {
      // bounded: stops when lab up ends, and after 3000 samples (~150 s) whatever happens
      while (running && samples.length < 3000) {
        samples.push(await psArgs())
        await new Promise((r) => setTimeout(r, 50))
      }
    })()
    const up = await runCli(['lab', 'up', '--json'], { env: LAB_ENV, timeoutMs: 180_000 })
    running = false
    await sampler
    expect(up.code, up.stderr).toBe(0)
    expect(parseJson<{ healthy: boolean }>(up).healthy).toBe(true)
    // the sampler did run while lab up was alive
    expect(samples.filter((s) => s.includes('lab up')).length).toBeGreaterThanOrEqual(3)
    const leaked = secrets.filter((s) => samples.some((sample) => sample.includes(s)))
    expect(leaked.length, 'a lab secret was on a command line').toBe(0)
    // nor in what lab up printed
    for (const s of secrets) expect(up.stdout + up.stderr).not.toContain(s)

    const pidfiles = readdirSync(LAB.run).filter((f) => f.endsWith('.pid'))
    expect(pidfiles.length).toBeGreaterThanOrEqual(3)
    for (const f of pidfiles) {
      const path = join(LAB.run, f)
      if (existsSync(path)) expect(statSync(path).mode & 0o022, `${f} is group/other writable`).toBe(0)
    }
  })
})
