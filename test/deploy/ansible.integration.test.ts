import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse, stringify } from 'yaml'
import {
  EXTRA_BIND_ENV,
  haproxyCfg,
  haproxyCfgCurrent,
  type LoggedRequest,
  readRequestLog,
  restartHaproxy,
} from '../../src/lab/haproxy.js'
import { LAB_PORTS } from '../../src/lab/layout.js'
import { readState } from '../../src/lab/state.js'
import { clampToMax, createHistogram, decodeHistogram, summarizeMs } from '../../src/metrics/histogram.js'
import type { BenchValidateResult } from '../../src/results/types.js'
import { BIN, ROOT, runCli } from '../helpers/cli.js'
import { LAB, LAB_ENV } from '../integration/lab-env.js'
import {
  createTestNetwork,
  HOST_ADDR,
  type LoadNamespace,
  removeTestNetwork,
  waitReachable,
} from './netns.js'

// deploy/ansible/bench.yml for real: three load "hosts" are network namespaces on a private bridge inside this
// machine (10.231.0.0/24, no route out), driven by Debian's ansible-core as `ansible_connection: local`
// hosts whose shard runs under `ip netns exec`; the lab's haproxy also listens on the bridge's address and
// logs every request that comes through it (source address, SHA-1 of the validated token).
const N = 3
const PLAYBOOK = join(ROOT, 'deploy', 'ansible', 'bench.yml')
const available =
  process.getuid?.() === 0 && existsSync('/usr/bin/ansible-playbook') && existsSync('/usr/sbin/ip')
const exec = promisify(execFile)
const log = (m: string) => process.stderr.write(`[ansible test] ${m}\n`)

interface Playbook {
  code: number | null
  output: string
  dir: string
}

/** Run bench.yml with these extra variables, bounded; the run's results land in `dir`. */
function runPlaybook(
  tmp: string,
  name: string,
  vars: Record<string, unknown>,
  args: string[] = [],
): Promise<Playbook> {
  const dir = join(tmp, 'results', name)
  const varsFile = join(tmp, `${name}.vars.json`)
  writeFileSync(varsFile, JSON.stringify({ ...vars, idtool_results_dir: dir }))
  const ansibleTmp = join(tmp, 'ansible')
  // the shards are idtool as installed, not idtool under vitest
  const {
    NODE_ENV: _n,
    VITEST: _v,
    VITEST_MODE: _m,
    VITEST_POOL_ID: _p,
    VITEST_WORKER_ID: _w,
    ...env
  } = process.env
  const run = exec(
    'ansible-playbook',
    ['-i', join(tmp, 'inventory.yml'), PLAYBOOK, '-e', `@${varsFile}`, ...args],
    {
      cwd: join(ROOT, 'deploy', 'ansible'),
      timeout: 100_000,
      killSignal: 'SIGKILL',
      maxBuffer: 16 * 1024 * 1024,
      env: {
        ...env,
        ANSIBLE_CONFIG: join(ROOT, 'deploy', 'ansible', 'ansible.cfg'),
        ANSIBLE_LOCAL_TEMP: join(ansibleTmp, 'local'),
        ANSIBLE_REMOTE_TEMP: join(ansibleTmp, 'remote'),
        ANSIBLE_ASYNC_DIR: join(ansibleTmp, 'async'),
        ANSIBLE_NOCOLOR: '1',
      },
    },
  )
  return run.then(
    ({ stdout, stderr }) => ({ code: 0, output: stdout + stderr, dir }),
    (err: { code?: number | string; stdout?: string; stderr?: string }) => ({
      code: typeof err.code === 'number' ? err.code : null,
      output: `${err.stdout ?? ''}${err.stderr ?? ''}`,
      dir,
    }),
  )
}

const readJson = <T>(file: string): T => JSON.parse(readFileSync(file, 'utf8')) as T
const sha1 = (s: string) => createHash('sha1').update(s).digest('hex')

describe.skipIf(!available)(
  'deploy/ansible: one benchmark from three network namespaces, one verdict',
  () => {
    let tmp = ''
    let namespaces: LoadNamespace[] = []
    let workers = 2
    let pool: string[] = []
    const common: Record<string, unknown> = {}

    beforeAll(async () => {
      workers = readState(LAB)?.spec.workers ?? 2
      // a crashed earlier run may have left its namespaces, veths and bridge: removed first
      namespaces = await createTestNetwork(N)
      process.env[EXTRA_BIND_ENV] = HOST_ADDR
      await restartHaproxy(LAB, workers, log)
      for (const ns of namespaces) await waitReachable(ns, LAB_PORTS.keystone)

      tmp = mkdtempSync(join(tmpdir(), 'idtool-ansible-'))
      const { stdout: packOut } = await exec('npm', ['pack', '--silent', '--pack-destination', tmp], {
        cwd: ROOT,
        timeout: 60_000,
      })
      const packed = join(tmp, packOut.trim().split('\n').pop() ?? '')

      // one token pool for every shard, issued through the lab's usual frontend
      const poolFile = join(tmp, 'pool.jsonl')
      const issued = await runCli(['tokens', 'issue', '--count', '30', '--out', poolFile, '--quiet'], {
        env: LAB_ENV,
        timeoutMs: 60_000,
      })
      expect(issued.code, issued.stderr).toBe(0)
      pool = readFileSync(poolFile, 'utf8')
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { token: string }).token)

      // the lab's admin, reached through the bridge: clouds.yaml without secrets, the password in secure.yaml
      const labClouds = parse(readFileSync(LAB.cloudsYaml, 'utf8')).clouds['idtool-lab']
      const labSecure = parse(readFileSync(LAB.secureYaml, 'utf8')).clouds['idtool-lab']
      const cloud = {
        ...labClouds,
        auth: { ...labClouds.auth, auth_url: `http://${HOST_ADDR}:${LAB_PORTS.keystone}/v3` },
      }
      for (const k of ['cacert', 'cert', 'key']) delete cloud[k]
      writeFileSync(join(tmp, 'clouds.yaml'), stringify({ clouds: { 'idtool-netns': cloud } }))
      writeFileSync(join(tmp, 'secure.yaml'), stringify({ clouds: { 'idtool-netns': labSecure } }), {
        mode: 0o600,
      })

      const hosts = Object.fromEntries(
        namespaces.map((ns) => [
          ns.name,
          {
            ansible_connection: 'local',
            ansible_python_interpreter: '/usr/bin/python3',
            idtool_exec_wrapper: ['ip', 'netns', 'exec', ns.name],
            idtool_prefix: join(tmp, 'hosts', ns.name, 'idtool'),
            idtool_workdir: join(tmp, 'hosts', ns.name, 'work'),
          },
        ]),
      )
      writeFileSync(
        join(tmp, 'inventory.yml'),
        stringify({
          all: {
            hosts: {
              localhost: { ansible_connection: 'local', ansible_python_interpreter: '/usr/bin/python3' },
            },
            children: { idtool_load: { hosts } },
          },
        }),
      )
      mkdirSync(join(tmp, 'results'))
      Object.assign(common, {
        idtool_tarball: packed,
        idtool_lockfile: join(ROOT, 'package-lock.json'),
        idtool_npm_install_args: ['--prefer-offline'],
        idtool_tokens: poolFile,
        idtool_clouds_yaml: join(tmp, 'clouds.yaml'),
        idtool_secure_yaml: join(tmp, 'secure.yaml'),
        idtool_cloud: 'idtool-netns',
        idtool_controller_cmd: [process.execPath, BIN],
        idtool_start_delay: 12,
        idtool_poll_interval: 1,
        idtool_run_timeout: 60,
      })
    }, 180_000)

    afterAll(async () => {
      delete process.env[EXTRA_BIND_ENV]
      // the lab as every other test knows it: 127.0.0.1 only, no request log
      if (readFileSync(LAB.haproxyCfg, 'utf8') !== haproxyCfg(LAB, workers, [])) {
        await restartHaproxy(LAB, workers, log)
      }
      await removeTestNetwork(N)
      if (tmp) rmSync(tmp, { recursive: true, force: true })
    }, 120_000)

    /** haproxy listening on the bridge (again, if something restarted it meanwhile). */
    async function extraBindUp(): Promise<void> {
      if (!haproxyCfgCurrent(LAB, workers)) await restartHaproxy(LAB, workers, log)
      for (const ns of namespaces) await waitReachable(ns, LAB_PORTS.keystone)
    }

    it('runs one shard per namespace, merges them exactly, and passes when the gate passes', async () => {
      await extraBindUp()
      const before = (await readRequestLog(LAB)).length
      const rate = 12
      const pb = await runPlaybook(tmp, 'pass', {
        ...common,
        idtool_bench_args: ['--rate', String(rate), '--duration', '3s'],
        idtool_thresholds: ['failures.rate < 50%', 'p50 < 60s'],
      })
      expect(pb.code, pb.output).toBe(0)
      expect(readdirSync(pb.dir).sort()).toEqual(
        [
          'gate.json',
          'gate.md',
          'junit.xml',
          'merged.json',
          ...namespaces.map((_, i) => `shard-${i}.json`),
        ].sort(),
      )
      const shards = namespaces.map((_, i) => readJson<BenchValidateResult>(join(pb.dir, `shard-${i}.json`)))
      const merged = readJson<BenchValidateResult>(join(pb.dir, 'merged.json'))

      // each shard knows its share, its source address and how late it started; one configuration
      expect(shards.map((r) => [r.shard?.index, r.shard?.count, r.shard?.sourceAddress])).toEqual(
        namespaces.map((ns, i) => [i, N, ns.address]),
      )
      expect(new Set(shards.map((r) => r.shard?.configHash)).size).toBe(1)
      for (const r of shards) expect(r.shard?.startSkewMs).toBeLessThanOrEqual(1000)
      expect(merged.shards?.indices).toEqual([0, 1, 2])
      // without one host's shard, the merge refuses the set (what the play does when a host fails)
      const two = [0, 1].map((i) => join(pb.dir, `shard-${i}.json`))
      const incomplete = await runCli(['report', 'merge', ...two, '--out', join(tmp, 'two.json'), '--quiet'])
      expect(incomplete.code, incomplete.stderr).toBe(2)
      expect(incomplete.stderr).toContain(`incomplete shard set: 1 of ${N} shards missing (2/${N})`)

      // haproxy saw each namespace's address, with its share of the validations (±1)
      const requests = (await readRequestLog(LAB)).slice(before)
      const validations = (r: LoggedRequest) =>
        r.method === 'GET' && r.path === '/v3/auth/tokens' && r.subjectTokenSha1
      const total = shards.reduce((s, r) => s + r.requests.total, 0)
      for (const [i, ns] of namespaces.entries()) {
        const seen = requests.filter((r) => r.source === ns.address && validations(r))
        expect(seen.length, `${ns.address}`).toBe(shards[i]?.requests.total)
        expect(
          Math.abs(seen.length - total / N),
          `${ns.address}: ${seen.length} of ${total}`,
        ).toBeLessThanOrEqual(1)
      }
      expect(
        requests.filter((r) => validations(r) && !namespaces.some((ns) => ns.address === r.source)),
      ).toEqual([])

      // no token was validated by two shards, and every one came from the pool
      const poolHashes = new Set(pool.map(sha1))
      const used = namespaces.map(
        (ns) =>
          new Set(
            requests.filter((r) => r.source === ns.address && validations(r)).map((r) => r.subjectTokenSha1),
          ),
      )
      for (const [i, a] of used.entries()) {
        for (const h of a) expect(poolHashes.has(h)).toBe(true)
        for (const b of used.slice(i + 1)) expect([...a].filter((h) => b.has(h))).toEqual([])
      }

      // the merged count is the sum of the shards'; its percentiles are those of one histogram of every value
      expect(merged.requests.total).toBe(total)
      const one = createHistogram()
      for (const r of shards) one.add(decodeHistogram(r.histogram))
      // as every summary of a saved histogram: clamped to the largest value recorded (a bucket's top can lie above)
      const whole = clampToMax({ ...summarizeMs(one), max: Math.max(...shards.map((r) => r.latencyMs.max)) })
      const { p50, p90, p99, p999, mean, max } = merged.latencyMs
      expect({ p50, p90, p99, p999, mean, max }).toEqual({
        p50: whole.p50,
        p90: whole.p90,
        p99: whole.p99,
        p999: whole.p999,
        mean: whole.mean,
        max: whole.max,
      })
      expect(decodeHistogram(merged.histogram).totalCount).toBe(one.totalCount)

      const gate = readJson<{ passed: boolean }>(join(pb.dir, 'gate.json'))
      expect(gate.passed).toBe(true)
    }, 150_000)

    it('fails when the gate fails, leaving the verdict on the controller', async () => {
      await extraBindUp()
      const pb = await runPlaybook(tmp, 'fail', {
        ...common,
        idtool_bench_args: ['--rate', '6', '--duration', '1s'],
        idtool_thresholds: ['p50 < 1us'],
      })
      expect(pb.code, pb.output).not.toBe(0)
      expect(pb.output).toContain('the gate failed (exit 3)')
      const gate = readJson<{ passed: boolean }>(join(pb.dir, 'gate.json'))
      expect(gate.passed).toBe(false)
      expect(readFileSync(join(pb.dir, 'junit.xml'), 'utf8')).toContain('<failure')
      expect(readFileSync(join(pb.dir, 'gate.md'), 'utf8')).toContain('p50')
    }, 150_000)
  },
)
