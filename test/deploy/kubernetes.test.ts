import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { beforeAll, describe, expect, it } from 'vitest'
import { parse, stringify } from 'yaml'
import { ROOT } from '../helpers/cli.js'

// deploy/kubernetes/bench-job.yaml cannot run here; read it as Kubernetes would, expand the arguments of
// each pod, and compare them with what deploy/ansible's role gives each load host (rendered by ansible).
const K8S = join(ROOT, 'deploy', 'kubernetes')
const ROLE = join(ROOT, 'deploy', 'ansible', 'roles', 'idtool_load')
const START_AT = '1767225600000'
const ansibleInstalled = existsSync('/usr/bin/ansible-playbook')

interface Container {
  args: string[]
  command?: string[]
  env: { name: string; value?: string; valueFrom?: Record<string, Record<string, string>> }[]
}
interface JobManifest {
  kind: string
  spec: {
    completionMode?: string
    completions: number
    parallelism: number
    template: { spec: { restartPolicy: string; containers: Container[]; volumes: Record<string, unknown>[] } }
  }
}

const manifest = (file: string) => parse(readFileSync(join(K8S, file), 'utf8')) as JobManifest

/** Kubernetes' $(VAR) expansion of container arguments. */
const expand = (args: string[], env: Record<string, string>) =>
  args.map((a) => a.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, name: string) => env[name] ?? m))

/** The arguments after the program, with the values of path flags replaced (they differ by design). */
const shape = (args: string[]) =>
  args.map((a, i) => (['--out', '--scenario', '--tokens'].includes(args[i - 1] ?? '') ? '<path>' : a))

/** idtool_argv of the Ansible role for each host of a 3-host idtool_load group, as ansible renders it. */
async function ansibleArgv(count: number): Promise<string[][]> {
  const dir = mkdtempSync(join(tmpdir(), 'idtool-k8s-'))
  try {
    const hosts = Object.fromEntries(
      Array.from({ length: count }, (_, i) => [`load${i}`, { ansible_connection: 'local' }]),
    )
    writeFileSync(join(dir, 'inventory.yml'), stringify({ all: { children: { idtool_load: { hosts } } } }))
    writeFileSync(
      join(dir, 'render.yml'),
      stringify([
        {
          hosts: 'idtool_load',
          gather_facts: false,
          vars_files: [join(ROLE, 'defaults', 'main.yml'), join(ROLE, 'vars', 'main.yml')],
          tasks: [
            {
              'ansible.builtin.copy': {
                content: '{{ idtool_argv | to_json }}',
                dest: `${dir}/argv-{{ inventory_hostname }}.json`,
                mode: '0600',
              },
            },
          ],
        },
      ]),
    )
    await promisify(execFile)(
      'ansible-playbook',
      [
        ...['-i', join(dir, 'inventory.yml'), join(dir, 'render.yml'), '-e'],
        JSON.stringify({
          idtool_start_at: START_AT,
          idtool_scenario: '/s.yaml',
          idtool_tokens: '/pool.jsonl',
        }),
      ],
      {
        timeout: 60_000,
        env: {
          ...process.env,
          ANSIBLE_LOCAL_TEMP: join(dir, 'tmp'),
          ANSIBLE_PYTHON_INTERPRETER: '/usr/bin/python3',
        },
      },
    )
    return Array.from(
      { length: count },
      (_, i) => JSON.parse(readFileSync(join(dir, `argv-load${i}.json`), 'utf8')) as string[],
    )
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

describe('deploy/kubernetes: an Indexed Job whose pods run the shards of the Ansible path', () => {
  const job = manifest('bench-job.yaml')
  const container = job.spec.template.spec.containers[0] as Container
  const count = job.spec.completions
  let ansible: string[][] = []

  beforeAll(async () => {
    if (ansibleInstalled) ansible = await ansibleArgv(count)
  }, 90_000)

  it('is an Indexed Job: completions = parallelism = the n of --shard, no retry', () => {
    expect(job.kind).toBe('Job')
    expect(job.spec.completionMode).toBe('Indexed')
    expect(job.spec.parallelism).toBe(count)
    expect(container.args[container.args.indexOf('--shard') + 1]).toBe(`$(JOB_COMPLETION_INDEX)/${count}`)
    expect(job.spec.template.spec.restartPolicy).toBe('Never')
  })

  it('takes the index from the Job controller and the start time from outside the manifest', () => {
    const env = Object.fromEntries(container.env.map((e) => [e.name, e]))
    expect(env.JOB_COMPLETION_INDEX?.valueFrom?.fieldRef?.fieldPath).toBe(
      "metadata.annotations['batch.kubernetes.io/job-completion-index']",
    )
    expect(env.START_AT?.valueFrom?.configMapKeyRef).toEqual({ name: 'idtool-bench-run', key: 'start-at' })
    // no secret on a command line or in the manifest: the password lives in the Secret's secure.yaml
    expect(container.env.map((e) => e.name)).not.toContain('OS_PASSWORD')
    expect(container.args.filter((a) => /^--os-.*(password|secret)/.test(a))).toEqual([])
  })

  it.skipIf(!ansibleInstalled)('gives pod k the shard arguments Ansible gives host k', () => {
    expect(ansible).toHaveLength(count)
    for (let k = 0; k < count; k++) {
      const pod = expand(container.args, { JOB_COMPLETION_INDEX: String(k), START_AT })
      const host = ansible[k]?.slice(1) ?? [] // after the idtool program
      expect(pod.slice(0, 6)).toEqual([
        'bench',
        'validate',
        '--shard',
        `${k}/${count}`,
        '--start-at',
        START_AT,
      ])
      expect(shape(pod)).toEqual(shape(host))
      const out = (args: string[]) => args[args.indexOf('--out') + 1] ?? ''
      expect(out(pod)).toBe(`/results/${START_AT}/shard-${k}.json`)
      expect(out(host)).toMatch(new RegExp(`/shard-${k}-${START_AT}\\.json$`))
    }
  })

  it('merges the shards of the same start time and judges the whole once', () => {
    const verdict = manifest('verdict-job.yaml')
    const script = verdict.spec.template.spec.containers[0]?.args.join('\n') ?? ''
    expect(script).toContain('cd "/results/$START_AT"')
    expect(script).toContain('idtool report merge shard-*.json --out merged.json')
    expect(script).toMatch(/idtool gate merged\.json --scenario \S+ --junit junit\.xml --markdown gate\.md/)
    expect(script).toContain('exit "$status"')
    const pvc = parse(readFileSync(join(K8S, 'results-pvc.yaml'), 'utf8'))
    expect(pvc.spec.accessModes).toEqual(['ReadWriteMany'])
  })
})
