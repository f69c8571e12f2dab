import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Flags } from '@oclif/core'
import { BaseCommand } from '../../cli/base-command.js'
import { durationFlag, osFlagInputs, osFlags, scenarioFlag } from '../../cli/flags.js'
import { formatMs } from '../../cli/progress.js'
import { UsageError } from '../../errors.js'
import { ExitCode } from '../../exit-codes.js'
import { defaultLabDir, LAB_BIND_DN, LAB_LDAP_DOMAIN, LAB_USERS_DN, labPaths } from '../../lab/layout.js'
import { LDAP_URL } from '../../lab/slapd.js'
import { isLabTarget, resolveAuthOrLab } from '../../lab/target.js'
import { keystoneTarget, pageSizeFromDomainConfig } from '../../ldap/keystone-target.js'
import { procAvailable } from '../../ldap/memory.js'
import { type LeakProgress, type LeakTarget, runPageLeakCheck } from '../../ldap/page-leak-check.js'
import { directTarget, filterProblem, type SearchScope } from '../../ldap/paged-search.js'
import { decodeHistogram, toHgrm } from '../../metrics/histogram.js'
import { formatBytes, parseBytes } from '../../metrics/units.js'
import { renderLeakTable } from '../../report/leak.js'
import type { PageLeakCheckResult } from '../../results/types.js'
import { applyScenarioFlag } from '../../scenario/index.js'

const DEFAULT_ITERATIONS = 200
const DEFAULT_PAGE_SIZE = 5
const DEFAULT_WARMUP = { direct: 50, keystone: 20 }

function readSecretFile(path: string, what: string): string {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw new UsageError(
      `cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      {
        hint: 'pass a readable file (mode 0600); idtool never takes a password as a flag value.',
      },
    )
  }
  const value = text.replace(/\r?\n$/, '')
  if (!value)
    throw new UsageError(`${what} ${path} is empty`, {
      hint: 'an empty password would be an anonymous bind.',
    })
  return value
}

function sameUrl(a: string, b: string): boolean {
  const norm = (u: string) => u.trim().replace(/\/+$/, '').toLowerCase()
  return norm(a) === norm(b)
}

export default class LdapPageLeakCheck extends BaseCommand {
  // Ctrl-C before the work starts says so (exit 130); after, the run stops and keeps its partial result
  static override interruptible = true

  static override summary =
    'Repeat paged LDAP searches at a tiny page size, watch memory, and say leak or no leak with numbers.'

  static override description = `Two targets:
  direct      --url ldap://HOST:PORT --bind-dn DN (--password-file F | env LDAP_PASSWORD) --base DN runs a Simple Paged Results search (RFC 2696) again and again with ldapts, one page at a time so every page is timed, and checks that every search returns the same number of entries and no DN twice.
  --keystone  --domain NAME lists the users of an LDAP-backed Keystone domain again and again (GET /v3/users?domain_id=...), which makes Keystone page through LDAP with its own pool; pass the Keystone worker PIDs with --pid (uwsgi workers, not the masters).

Lab default: with no --url (or the lab's URL ${LDAP_URL}) and no --bind-dn, --password-file or LDAP_PASSWORD, the lab's service account ${LAB_BIND_DN} binds with the password from the lab's secrets directory. With the lab's URL, --base defaults to ${LAB_USERS_DN}. Any explicit flag turns the default off.

Method. One probe search runs first (bind, base, filter and size limits must work), then --warmup iterations that are not measured. Then memory is sampled at iteration 0 and every K iterations (--sample-every; default about 40 samples per run): idtool's own heap (heapUsed without JIT-compiled code, and external) after forced full garbage collections, and for every --pid the resident anonymous memory (RssAnon) and VmRSS from /proc/PID/status. Samples taken right after an error are left out. For each subject a least-squares line of bytes against iterations gives the slope and its 95% confidence interval (Student's t):
  leak          the interval's lower bound is above --leak-threshold (default 1 KiB per iteration), and memory still grows at the end: with 8+ samples the second half, with 16+ also the last third, is not confidently below the threshold (growth that levels off, or one step then a plateau, is a warm-up or a cache: inconclusive, not a leak);
  no-leak       the interval's upper bound is below the threshold;
  inconclusive  otherwise: run more iterations. VmRSS is reported but does not decide (file-backed pages such as slapd's mdb map count in it). The overall verdict is leak when any deciding subject leaks. Exit 5 on leak, 0 on no-leak, 1 on inconclusive (0 with --allow-inconclusive).

Faults: a wrong password, an unreachable server, a missing base DN or a size limit (slapd's default sizelimit 500 stops even paged searches at 500 entries for ordinary bind DNs) stop the run before measuring (exit 2). During the run, failures are counted in "errors" by kind, the connection is reopened, and the run stops after 10 failures in a row (exit 1). A --pid that exits mid-run is judged on its samples before.

--hgrm FILE writes FILE-page.hgrm and FILE-search.hgrm (HdrHistogram percentile distributions, ms).`

  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    {
      description: 'Direct, against any slapd, watching its memory',
      command:
        '<%= config.bin %> <%= command.id %> --url ldap://127.0.0.1:3890 --bind-dn cn=keystone,dc=example,dc=org --password-file ./ldap-pw --base ou=Users,dc=example,dc=org --page-size 5 --iterations 300 --pid 1234',
    },
    {
      description: 'Through Keystone, watching two uwsgi workers',
      command:
        '<%= config.bin %> <%= command.id %> --keystone --domain ldapdom --pid 2345 --pid 2346 --duration 2m',
    },
    {
      description: 'Keep the result and both latency histograms',
      command: '<%= config.bin %> <%= command.id %> --iterations 500 --out leak.json --hgrm leak --json',
    },
  ]

  static override flags = {
    ...scenarioFlag,
    url: Flags.string({
      description: `LDAP URL, ldap://HOST:PORT or ldaps://HOST:PORT (default: the lab's ${LDAP_URL})`,
      helpGroup: 'LDAP',
    }),
    'bind-dn': Flags.string({
      description: 'DN to bind as (none: anonymous, unless the lab default applies)',
      helpGroup: 'LDAP',
    }),
    'password-file': Flags.string({
      description: 'file holding the bind password (else env LDAP_PASSWORD); never a flag value',
      helpGroup: 'LDAP',
    }),
    base: Flags.string({ description: 'search base DN', helpGroup: 'LDAP' }),
    filter: Flags.string({
      description: 'search filter (RFC 4515)',
      default: '(objectClass=*)',
      helpGroup: 'LDAP',
    }),
    scope: Flags.string({
      description: 'search scope',
      options: ['one', 'sub'],
      default: 'one',
      helpGroup: 'LDAP',
    }),
    attributes: Flags.string({
      description: 'comma-separated attributes to fetch (default: all user attributes; 1.1 for DNs only)',
      helpGroup: 'LDAP',
    }),
    starttls: Flags.boolean({
      description: 'upgrade an ldap:// connection with StartTLS',
      helpGroup: 'LDAP',
    }),
    cacert: Flags.string({ description: 'CA bundle (PEM) for ldaps:// or --starttls', helpGroup: 'LDAP' }),
    'page-size': Flags.integer({
      description: `entries per page (direct; default ${DEFAULT_PAGE_SIZE}). With --keystone: Keystone's [ldap] page_size, for the record (read from the lab's domain config when absent)`,
      min: 1,
      max: 100_000,
    }),
    keystone: Flags.boolean({
      description: 'list the users of an LDAP-backed Keystone domain instead of searching LDAP directly',
      helpGroup: 'KEYSTONE',
    }),
    domain: Flags.string({
      description: `the LDAP-backed Keystone domain (default with the lab: ${LAB_LDAP_DOMAIN})`,
      helpGroup: 'KEYSTONE',
    }),
    ...osFlags,
    iterations: Flags.integer({
      description: `measured iterations (searches or listings; default ${DEFAULT_ITERATIONS})`,
      min: 1,
    }),
    duration: durationFlag({ description: 'measure for this long instead, e.g. 90s, 2m' }),
    warmup: Flags.integer({
      description: `iterations before measuring, not measured (default ${DEFAULT_WARMUP.direct}, or ${DEFAULT_WARMUP.keystone} with --keystone): lets the JIT and pools settle`,
      min: 0,
    }),
    concurrency: Flags.integer({
      description: 'parallel connections, each searching in turn',
      default: 1,
      min: 1,
      max: 64,
    }),
    pid: Flags.integer({
      description: 'a process whose memory to watch (repeatable): slapd, a Keystone worker',
      multiple: true,
      min: 1,
    }),
    'sample-every': Flags.integer({
      description: 'sample memory every K iterations (default: about 40 samples per run)',
      min: 1,
    }),
    'leak-threshold': Flags.string({
      description: 'growth per iteration that counts as a leak, e.g. 1KiB, 512B, 2MiB',
      default: '1KiB',
    }),
    'allow-inconclusive': Flags.boolean({
      description: 'exit 0 instead of 1 when the verdict is inconclusive',
    }),
    timeout: durationFlag({
      description: 'per-operation timeout',
      default: 60_000,
      defaultHelp: async () => '60s',
    }),
    out: Flags.string({ description: 'also save the JSON result to this file' }),
    hgrm: Flags.string({
      description: 'write FILE-page.hgrm and FILE-search.hgrm (percentile distributions)',
    }),
  }

  async run(): Promise<PageLeakCheckResult> {
    const { flags: parsed, metadata } = await this.parse(LdapPageLeakCheck)
    const flags = await applyScenarioFlag(LdapPageLeakCheck, 'ldap:page-leak-check', parsed, metadata)
    if (flags.iterations !== undefined && flags.duration !== undefined) {
      throw new UsageError('use either --iterations or --duration, not both')
    }
    if (flags.keystone) {
      const direct = (['url', 'bind-dn', 'password-file', 'base', 'starttls', 'cacert'] as const).filter(
        (f) => flags[f],
      )
      if (direct.length) {
        throw new UsageError(
          `--keystone lists users through Keystone: --${direct.join(', --')} ${direct.length > 1 ? 'do' : 'does'} not apply`,
          {
            hint: 'drop --keystone to search LDAP directly, or use the --os-* settings for Keystone.',
          },
        )
      }
    } else if (flags.domain) {
      throw new UsageError('--domain needs --keystone', {
        hint: 'add --keystone to list the users of that domain.',
      })
    }
    let threshold: number
    try {
      threshold = parseBytes(flags['leak-threshold'])
    } catch (err) {
      throw new UsageError(`--leak-threshold: ${(err as Error).message}`)
    }
    if (threshold <= 0) throw new UsageError('--leak-threshold must be above 0')
    const pids = flags.pid ?? []
    if (pids.length && !procAvailable()) {
      throw new UsageError('--pid needs Linux /proc (to read /proc/PID/status)', {
        hint: 'run on Linux, or drop --pid.',
      })
    }

    // output files are checked before any work: a bad path fails at once, not after the run
    this.checkOutputPaths([
      ['--out', flags.out],
      ['--hgrm', flags.hgrm && hgrmPaths(flags.hgrm).page],
      ['--hgrm', flags.hgrm && hgrmPaths(flags.hgrm).search],
    ])
    const target = flags.keystone ? await this.keystoneTarget(flags) : this.directTarget(flags)
    if (flags.keystone && pids.length === 0) {
      this.warnLine(
        "no --pid: only idtool's own heap is watched; for the lab, `idtool lab status --json` lists keystone.workers[].workerPid",
      )
    }

    const progress = this.progress()
    const signal = this.interruptSignal()
    const iterations = flags.duration === undefined ? (flags.iterations ?? DEFAULT_ITERATIONS) : undefined
    const run = await runPageLeakCheck({
      target,
      iterations,
      durationMs: flags.duration,
      warmup: flags.warmup ?? DEFAULT_WARMUP[target.mode],
      concurrency: flags.concurrency,
      sampleEvery: flags['sample-every'],
      leakThresholdBytesPerIteration: threshold,
      pids,
      signal,
      onProgress: (p) => progress.update(progressLine(p, target.mode)),
      onWarn: (m) => {
        progress.done()
        this.warnLine(m)
      },
    }).finally(() => progress.done())
    const result = run.result

    const histograms = flags.hgrm ? result.histograms : undefined
    this.saveRunOutputs([
      { path: flags.out, content: () => `${JSON.stringify(result, null, 2)}\n` },
      ...(histograms
        ? [
            { path: hgrmPaths(flags.hgrm!).page, content: () => toHgrm(decodeHistogram(histograms.page)) },
            {
              path: hgrmPaths(flags.hgrm!).search,
              content: () => toHgrm(decodeHistogram(histograms.search)),
            },
          ]
        : []),
    ])
    if (!this.jsonEnabled()) this.log(renderLeakTable(result))

    if (this.interrupted) {
      this.setExitCode(ExitCode.Interrupted)
    } else if (result.verdict === 'leak') {
      const leaking = result.subjects.filter((s) => s.verdict === 'leak')
      this.warnLine(
        `leak: ${leaking.map((s) => `${s.name}${s.pid ? ` pid ${s.pid}` : ''} ${s.metric} grows ${formatBytes(s.slopeBytesPerIteration)}/iteration`).join('; ')}`,
      )
      this.setExitCode(ExitCode.Leak)
    } else if (run.stopReason) {
      this.warnLine(run.stopReason)
      this.setExitCode(ExitCode.Runtime)
    } else if (result.verdict === 'inconclusive') {
      const why = result.subjects
        .filter((s) => s.verdict === 'inconclusive' && s.metric !== 'VmRSS')
        .map((s) => `${s.name}${s.pid ? ` pid ${s.pid}` : ''} ${s.metric}: ${s.note ?? 'inconclusive'}`)
      this.warnLine(
        `inconclusive: ${why.join('; ')}${flags['allow-inconclusive'] ? '' : ' (exit 1; --allow-inconclusive to exit 0)'}`,
      )
      if (!flags['allow-inconclusive']) this.setExitCode(ExitCode.Runtime)
    }
    return result
  }

  private directTarget(flags: {
    url?: string
    'bind-dn'?: string
    'password-file'?: string
    base?: string
    filter: string
    scope: string
    attributes?: string
    starttls: boolean
    cacert?: string
    'page-size'?: number
    timeout: number
  }): LeakTarget {
    const lab = labPaths(defaultLabDir())
    const url = flags.url ?? (existsSync(lab.dir) ? LDAP_URL : undefined)
    if (!url) {
      throw new UsageError('--url is required (there is no local lab to default to)', {
        hint: 'e.g. --url ldap://ldap.example.org:389 --bind-dn ... --password-file ... --base ...',
      })
    }
    let parsed: URL
    try {
      parsed = new URL(url)
    } catch {
      throw new UsageError(`--url ${url} is not a URL`, {
        hint: 'use ldap://HOST:PORT or ldaps://HOST:PORT.',
      })
    }
    if (parsed.protocol !== 'ldap:' && parsed.protocol !== 'ldaps:') {
      throw new UsageError(`--url ${url}: only ldap:// and ldaps:// are supported`)
    }
    if (flags.starttls && parsed.protocol === 'ldaps:') {
      throw new UsageError('--starttls is for ldap:// URLs; ldaps:// is already TLS')
    }
    const envPassword = process.env.LDAP_PASSWORD
    const labDefault =
      sameUrl(url, LDAP_URL) &&
      !flags['bind-dn'] &&
      !flags['password-file'] &&
      !envPassword &&
      existsSync(lab.ldapBindPasswordFile)
    let bindDn = flags['bind-dn']
    let password: string | undefined
    if (labDefault) {
      bindDn = LAB_BIND_DN
      password = readSecretFile(lab.ldapBindPasswordFile, 'the lab password file')
      this.info(
        `Using the lab's LDAP service account ${LAB_BIND_DN} (password from ${lab.ldapBindPasswordFile}).`,
      )
    } else if (flags['password-file']) {
      password = readSecretFile(flags['password-file'], '--password-file')
    } else if (envPassword !== undefined) {
      if (!envPassword)
        throw new UsageError('LDAP_PASSWORD is empty', {
          hint: 'an empty password would be an anonymous bind.',
        })
      password = envPassword
    }
    if (bindDn && password === undefined) {
      throw new UsageError(`no password for ${bindDn}`, {
        hint: 'pass --password-file FILE or set LDAP_PASSWORD; idtool never takes a password as a flag value.',
      })
    }
    if (!bindDn && password !== undefined) {
      throw new UsageError('a password was given but no --bind-dn', { hint: 'add --bind-dn DN.' })
    }
    const base = flags.base ?? (labDefault || sameUrl(url, LDAP_URL) ? LAB_USERS_DN : undefined)
    if (!base) throw new UsageError('--base is required', { hint: 'e.g. --base ou=Users,dc=example,dc=org' })
    const problem = filterProblem(flags.filter)
    if (problem)
      throw new UsageError(`--filter ${flags.filter}: ${problem}`, {
        hint: 'e.g. (objectClass=inetOrgPerson)',
      })
    let ca: string | undefined
    if (flags.cacert) {
      try {
        ca = readFileSync(flags.cacert, 'utf8')
      } catch (err) {
        throw new UsageError(
          `cannot read --cacert ${flags.cacert}: ${(err as NodeJS.ErrnoException).code ?? ''}`,
        )
      }
    }
    const attributes = (flags.attributes ?? '')
      .split(',')
      .map((a) => a.trim())
      .filter(Boolean)
    return directTarget(
      {
        url,
        bindDn,
        password,
        starttls: flags.starttls,
        ca,
        timeoutMs: flags.timeout,
        connectTimeoutMs: Math.min(flags.timeout, 10_000),
      },
      {
        base,
        filter: flags.filter,
        scope: flags.scope as SearchScope,
        attributes,
        pageSize: flags['page-size'] ?? DEFAULT_PAGE_SIZE,
      },
    )
  }

  private async keystoneTarget(
    flags: Parameters<typeof osFlagInputs>[0] & {
      domain?: string
      'page-size'?: number
      timeout: number
      concurrency: number
    },
  ): Promise<LeakTarget> {
    const settings = resolveAuthOrLab({ flags: osFlagInputs(flags), env: process.env })
    const lab = labPaths(defaultLabDir())
    const isLab = isLabTarget(settings.authUrl, lab.dir)
    const domain = flags.domain ?? (isLab ? LAB_LDAP_DOMAIN : undefined)
    if (!domain)
      throw new UsageError('--domain is required with --keystone', { hint: 'name the LDAP-backed domain.' })
    const pageSize =
      flags['page-size'] ??
      (isLab ? pageSizeFromDomainConfig(join(lab.domainsDir, `keystone.${domain}.conf`)) : 0)
    return keystoneTarget({
      settings,
      domain,
      pageSize,
      timeoutMs: flags.timeout,
      concurrency: flags.concurrency,
      warn: (m) => this.warnLine(m),
    })
  }
}

function progressLine(p: LeakProgress, mode: 'direct' | 'keystone'): string {
  const what = mode === 'keystone' ? 'listings' : 'searches'
  if (p.phase === 'probe') return `probe ${mode === 'keystone' ? 'listing' : 'search'}...`
  if (p.phase === 'warmup') return `warm-up ${p.done}/${p.total} ${what}`
  const of = p.total !== undefined ? `/${p.total}` : ''
  const time =
    p.durationMs !== undefined
      ? ` (${formatMs(p.elapsedMs)} of ${formatMs(p.durationMs)})`
      : ` (${formatMs(p.elapsedMs)})`
  const last = p.lastSearchMs !== undefined ? `, last ${p.lastSearchMs.toFixed(1)} ms` : ''
  return `measuring ${p.done}${of} ${what}${time}, ${p.errors} errors${last}, memory every ${p.sampleEvery}`
}

/** The two files --hgrm FILE names: FILE-page.hgrm and FILE-search.hgrm. */
function hgrmPaths(hgrm: string): { page: string; search: string } {
  const base = hgrm.replace(/\.hgrm$/, '')
  return { page: `${base}-page.hgrm`, search: `${base}-search.hgrm` }
}
