import { BaseCommand } from '../../cli/base-command.js'
import { durationFlag, osFlagInputs, osFlags, scenarioFlag } from '../../cli/flags.js'
import { Flags, type Interfaces } from '../../cli/oclif.js'
import { leakProgressLine } from '../../cli/progress.js'
import { LAB_BIND_DN, LAB_LDAP_DOMAIN, LAB_PORTS, LAB_USERS_DN } from '../../lab/layout.js'
import { LDAP_URL } from '../../lab/slapd.js'
import {
  LEAK_CHECK_DEFAULTS,
  leakCheckOutcome,
  MAX_WRITERS,
  type PageLeakCheckOptions,
  pageLeakCheck,
  parseWriteRate,
} from '../../ldap/leak-check.js'
import type { SearchScope } from '../../ldap/paged-search.js'
import { WRITE_DEFAULTS } from '../../ldap/writers.js'
import { decodeHistogram, toHgrm } from '../../metrics/histogram.js'
import { renderLeakTable } from '../../report/leak.js'
import type { PageLeakCheckResult } from '../../results/types.js'
import { applyScenarioFlag } from '../../scenario/index.js'

const {
  iterations: DEFAULT_ITERATIONS,
  pageSize: DEFAULT_PAGE_SIZE,
  warmup: DEFAULT_WARMUP,
} = LEAK_CHECK_DEFAULTS

export default class LdapPageLeakCheck extends BaseCommand {
  // Ctrl-C before the work starts says so (exit 130); after, the run stops and keeps its partial result
  static override interruptible = true

  static override summary =
    'Repeat paged LDAP searches at a tiny page size, watch memory, and say leak or no leak with numbers.'

  static override description = `Two targets:
  direct      --url ldap://HOST:PORT --bind-dn DN (--password-file F | env LDAP_PASSWORD) --base DN runs a Simple Paged Results search (RFC 2696) again and again with ldapts, one page at a time so every page is timed, and checks that every search returns the same number of entries and no DN twice.
  --keystone  --domain NAME lists the users of an LDAP-backed Keystone domain again and again (GET /v3/users?domain_id=...), which makes Keystone page through LDAP with its own pool; pass the Keystone worker PIDs with --pid (uwsgi workers, not the masters).

Lab defaults, each filling only its own missing value. A lab is set up when \`idtool lab up\` has left its state in the lab directory ($IDTOOL_LAB_DIR, else $XDG_STATE_HOME/idtool/lab, else ~/.local/state/idtool/lab); the target is the lab when a lab is set up and the URL is ldap:// on a loopback address (127.0.0.1, localhost, ::1) at slapd's port ${LAB_PORTS.ldap}.
  --url       with a lab set up: ${LDAP_URL}; without one, --url is required.
  bind        with the lab as target and none of --bind-dn, --password-file or LDAP_PASSWORD (and the lab's password file present): the lab's service account ${LAB_BIND_DN}, its password read from the lab's secrets directory. Otherwise --bind-dn binds with --password-file, else LDAP_PASSWORD; none of them: an anonymous bind.
  --base      with the lab as target: ${LAB_USERS_DN}, whoever binds; else --base is required.
  --keystone  with no cloud or auth URL named (--os-cloud, OS_CLOUD, --os-auth-url, OS_AUTH_URL, OS_CLIENT_CONFIG_FILE): the lab's clouds.yaml, when there is one. When the auth URL is the lab's Keystone (loopback, one of haproxy's or the workers' ports, a lab set up): --domain defaults to ${LAB_LDAP_DOMAIN} and --page-size is read from that domain's config.

Method. One probe search runs first (bind, base, filter and size limits must work), then --warmup iterations that are not measured. Then memory is sampled at iteration 0 and every K iterations (--sample-every; default about 40 samples per run): idtool's own heap (heapUsed without JIT-compiled code, and external) after forced full garbage collections, and for every --pid the resident anonymous memory (RssAnon) and VmRSS from /proc/PID/status. Samples taken right after an error are left out. For each subject a least-squares line of bytes against iterations gives the slope and its 95% confidence interval (Student's t):
  leak          the interval's lower bound is above --leak-threshold (default 1 KiB per iteration), and memory still grows at the end: with 8+ samples the second half, with 16+ also the last third, is not confidently below the threshold (growth that levels off, or one step then a plateau, is a warm-up or a cache: inconclusive, not a leak);
  no-leak       the interval's upper bound is below the threshold;
  inconclusive  otherwise: run more iterations. VmRSS is reported but does not decide (file-backed pages such as slapd's mdb map count in it). The overall verdict is leak when any deciding subject leaks. Exit 5 on leak, 0 on no-leak, 1 on inconclusive (0 with --allow-inconclusive).

Faults: a wrong password, an unreachable server, a missing base DN or a size limit (slapd's default sizelimit 500 stops even paged searches at 500 entries for ordinary bind DNs) stop the run before measuring (exit 2). During the run, failures are counted in "errors" by kind, the connection is reopened, and the run stops after 10 failures in a row (exit 1). A --pid that exits mid-run is judged on its samples before.

Writes while paging (--writers N, direct only): N connections replace the description attribute of the entries being paged, in turn, together --write-rate R writes a second (default ${WRITE_DEFAULTS.ratePerSec}) on one fixed schedule (open model: write i is due at start + i/R whatever the answers do, and its latency runs from that time to the answer). First a plain (non-paged) search takes the expected set of DNs and the descriptions; one probe write must work (on the lab the writers bind as the lab's root DN, whose password is in the lab's secrets directory; elsewhere the searches' bind, or --write-bind-dn with --write-password-file). Then, after the warm-up, a baseline of writes alone for --write-baseline (default ${WRITE_DEFAULTS.baselineMs / 1000}s), then writes during the measured searches. Reported per phase: writes, accepted, errors by LDAP result, achieved rate, latency p50/p90/p99/max, and how late the writers' event loop ran (the writers run in a thread of their own, so that parsing search pages does not delay them; a large figure means part of the latency was spent in idtool); and paging consistency: every measured search compared with the expected set (missing, duplicate and unexpected DNs; a search that is off also counts as an error: missing-dn, duplicate-dn, unexpected-dn). Afterwards every entry written gets its description back as it was before the run (removed where it had none), also after Ctrl-C.

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
      description: 'Write the lab directory while paging it: 2 writers, 100 writes/s in all',
      command:
        '<%= config.bin %> <%= command.id %> --page-size 5 --iterations 50 --writers 2 --write-rate 100 --write-baseline 5s',
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
    writers: Flags.integer({
      description: `connections writing the directory while paging (0 to ${MAX_WRITERS}; default 0: no writes)`,
      helpGroup: 'WRITES',
    }),
    'write-rate': Flags.string({
      description: `writes per second across all writers (default ${WRITE_DEFAULTS.ratePerSec}), e.g. 100 or 12.5`,
      helpGroup: 'WRITES',
    }),
    'write-baseline': durationFlag({
      description: `writes alone before the measured searches, e.g. 5s (default ${WRITE_DEFAULTS.baselineMs / 1000}s; at least 1s)`,
      helpGroup: 'WRITES',
    }),
    'write-bind-dn': Flags.string({
      description: "DN the writers bind as (default: the lab's root DN on the lab, else --bind-dn)",
      helpGroup: 'WRITES',
    }),
    'write-password-file': Flags.string({
      description: 'file holding the password of --write-bind-dn; never a flag value',
      helpGroup: 'WRITES',
    }),
    out: Flags.string({ description: 'also save the JSON result to this file' }),
    hgrm: Flags.string({
      description: 'write FILE-page.hgrm and FILE-search.hgrm (percentile distributions)',
    }),
  }

  async run(): Promise<PageLeakCheckResult> {
    const { flags: parsed, metadata } = await this.parse(LdapPageLeakCheck)
    const flags = await applyScenarioFlag(LdapPageLeakCheck, 'ldap:page-leak-check', parsed, metadata)
    const hgrm = flags.hgrm === undefined ? undefined : hgrmPaths(flags.hgrm)
    const progress = this.progress()
    const run = await pageLeakCheck(leakCheckOptions(flags), {
      // output files are checked before any work: a bad path fails at once, not after the run
      beforeConnect: () =>
        this.checkOutputPaths([
          ['--out', flags.out],
          ['--hgrm', hgrm?.page],
          ['--hgrm', hgrm?.search],
        ]),
      info: (m) => this.info(m),
      warn: (m) => {
        progress.done()
        this.warnLine(m)
      },
      onProgress: (p) => progress.update(leakProgressLine(p)),
      interruptSignal: () => this.interruptSignal(),
    }).finally(() => progress.done())
    const { result } = run
    const histograms = hgrm && result.histograms
    this.saveRunOutputs([
      { path: flags.out, content: () => `${JSON.stringify(result, null, 2)}\n` },
      ...(hgrm && histograms
        ? [
            { path: hgrm.page, content: () => toHgrm(decodeHistogram(histograms.page)) },
            { path: hgrm.search, content: () => toHgrm(decodeHistogram(histograms.search)) },
          ]
        : []),
    ])
    if (!this.jsonEnabled()) this.log(renderLeakTable(result))
    const outcome = leakCheckOutcome(run, {
      interrupted: this.interrupted,
      allowInconclusive: flags['allow-inconclusive'],
    })
    if (outcome.warning) this.warnLine(outcome.warning)
    if (outcome.exitCode !== undefined) this.setExitCode(outcome.exitCode)
    return result
  }
}

type LeakFlags = Interfaces.InferredFlags<typeof LdapPageLeakCheck.flags>

/** The flags as the library's one options object. */
function leakCheckOptions(flags: LeakFlags): PageLeakCheckOptions {
  return {
    keystone: flags.keystone,
    direct: {
      url: flags.url,
      bindDn: flags['bind-dn'],
      passwordFile: flags['password-file'],
      base: flags.base,
      filter: flags.filter,
      scope: flags.scope as SearchScope,
      attributes: flags.attributes,
      starttls: flags.starttls,
      cacert: flags.cacert,
    },
    domain: flags.domain,
    auth: osFlagInputs(flags),
    env: process.env,
    pageSize: flags['page-size'],
    iterations: flags.iterations,
    durationMs: flags.duration,
    warmup: flags.warmup,
    concurrency: flags.concurrency,
    sampleEvery: flags['sample-every'],
    leakThreshold: flags['leak-threshold'],
    pids: flags.pid ?? [],
    timeoutMs: flags.timeout,
    writers: flags.writers,
    writeRate: flags['write-rate'] === undefined ? undefined : parseWriteRate(flags['write-rate']),
    writeBaselineMs: flags['write-baseline'],
    writeBindDn: flags['write-bind-dn'],
    writePasswordFile: flags['write-password-file'],
  }
}

/** The two files --hgrm FILE names: FILE-page.hgrm and FILE-search.hgrm. */
function hgrmPaths(hgrm: string): { page: string; search: string } {
  const base = hgrm.replace(/\.hgrm$/, '')
  return { page: `${base}-page.hgrm`, search: `${base}-search.hgrm` }
}
