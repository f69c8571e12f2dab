/**
 * The versioned machine-output contracts of idtool. What `--json` prints and `--out` saves for each
 * command is one of these. `report`, `gate` and `merge` read them (src/results/load.ts), checked against the
 * JSON Schema of their kind.
 *
 * Change a result type => `npm run schemas` (rewrites src/results/schemas/<kind>.schema.json from these
 * types) and commit the schemas; change a shape => bump its `version` too, and record the new version and
 * hash in test/results/schema-versions.json (the unit tests fail until both are done).
 */

/** Latency percentiles in milliseconds. */
export interface Percentiles {
  p50: number
  p90: number
  p99: number
  p999: number
  max: number
  mean: number
}

export interface BackendStats {
  /** answers from this backend */
  count: number
  /** of them, unexpected answers */
  errors: number
  /** of its expected answers (since the `failures` field exists; before, of all its answers) */
  latencyMs: { p50: number; p90?: number; p99: number; max?: number }
  /** base64 HDR V2 histogram of this backend's latencies (µs), for merge and per-backend spectra. */
  histogram?: string
}

/**
 * Which share of a sharded load a result holds (`bench validate --shard i/n`, version 2). Results of one
 * load merge only as a complete set: every index of 0..count-1 once, one configHash.
 */
export interface ShardInfo {
  /** 0-based */
  index: number
  count: number
  /**
   * sha256 of every setting that must match across the shards (target, model, whole rate or concurrency,
   * connections, requests, duration, warm-up, method, histogram settings, token source, start time, count);
   * not the index
   */
  configHash: string
  /** the load generator's host name */
  host: string
  /** the local address its connections to the target leave from (null when unknown) */
  sourceAddress: string | null
  /** with --start-at: how late the measured phase started after the common start, ms; else null */
  startSkewMs: number | null
}

/**
 * `idtool bench validate` result (kind "bench.validate"). Version 2 added `shard`, `shards` and `partial`
 * (sharded loads, `--shard i/n`); version 3 `memory` (`--pid`, `--watch-lab`).
 */
export interface BenchValidateResult {
  version: 3
  kind: 'bench.validate'
  target: string
  model: 'closed' | 'open'
  concurrency: number | null
  connections: number
  rate: number | null
  method: 'GET' | 'HEAD'
  /**
   * the HTTP client that sent the load: 'h1' (idtool's lean HTTP/1.1 client), 'undici', or 'injected' (a
   * dispatcher supplied by the caller). Absent in results written before it was recorded.
   */
  httpClient?: 'h1' | 'undici' | 'injected'
  startedAt: string
  durationMs: number
  requests: {
    total: number
    ok: number
    errors: number
    unexpectedStatus: number
    /** open model: requests that could not be sent at their intended time */
    late?: number
  }
  /**
   * expected answers (the 200s and 404s the pool calls for) per second; results without `failures`
   * counted every answer
   */
  throughput: { rps: number }
  /**
   * of the expected answers (results without `failures`: of every answer). Open model: from intended
   * send time (coordinated omission corrected); closed: from actual send
   */
  latencyMs: Percentiles
  /** open model only: from actual send time */
  latencyUncorrectedMs: Percentiles | null
  statusCodes: Record<string, number>
  errors: Record<string, number>
  backends: Record<string, BackendStats>
  /** first validation of each token; `histogram` (base64 HDR V2, µs) makes merges exact */
  cold: { count: number; latencyMs: Percentiles; histogram?: string } | null
  /** repeat validations */
  warm: { count: number; latencyMs: Percentiles; histogram?: string } | null
  warmup: { durationMs: number; requests: number } | null
  /** base64 HDR V2 of latencyMs (µs) */
  histogram: string
  /** base64 HDR V2 of latencyUncorrectedMs (µs), open model */
  histogramUncorrected?: string | null
  interrupted: boolean
  /** set by `report merge`: how many results were merged into this one */
  mergedFrom?: number
  /** a shard's result: which share of the load it holds */
  shard?: ShardInfo
  /** a merged shard set: its count, config hash and the indices merged */
  shards?: { count: number; configHash: string; indices: number[] }
  /** a merged shard set with shards missing (`--allow-partial`): not the whole load */
  partial?: boolean
  /**
   * Requests that did not get the answer the pool calls for: unexpected answers (`requests.unexpectedStatus`)
   * plus transport errors (`requests.errors`). They are left out of `throughput`, `latencyMs`, `cold`,
   * `warm` and the per-backend latencies. Absent in results written before they were kept apart.
   */
  failures?: {
    count: number
    /** count over requests.total (0 when there was no request) */
    rate: number
    /** per second of the measured duration */
    rps: number
    /**
     * latency of the unexpected answers and of the transport errors that ended (refused, reset, timed
     * out), as latencyMs measures it; null when none had one
     */
    latencyMs: Percentiles | null
    /** base64 HDR V2 of latencyMs (µs) */
    histogram?: string
  }
  /** the memory of the server processes watched during the measured phase (`--pid`, `--watch-lab`) */
  memory?: ServerMemory
}

/**
 * Server memory watched during a benchmark (`--pid`, `--watch-lab`): each process's RssAnon and VmRSS sampled
 * from /proc against the requests the run had sent and seen answered, and judged as `ldap page-leak-check`
 * judges its subjects (metrics/memory-verdict.ts), with requests in place of iterations.
 */
export interface ServerMemory {
  /**
   * the x axis of every series: answers seen in the measured phase(s), every backend together (bench mixed:
   * validations of every phase plus revocations sent)
   */
  x: 'requests'
  /** growth per request that counts as a leak (the lower bound of the slope's 95% interval must exceed it) */
  leakThresholdBytesPerRequest: number
  /** leak when any process's deciding series (RssAnon) leaks; inconclusive when none leaks but one cannot tell */
  verdict: LeakVerdict
  /** per watched process, by name: ks1, ks2... (`--watch-lab`), pid-<PID> (`--pid`) */
  processes: Record<string, ServerMemoryProcess>
}

export interface ServerMemoryProcess {
  pid: number
  /** its command name (/proc/PID/comm) */
  command: string
  /** the verdict of its deciding series */
  verdict: LeakVerdict
  /** the deciding series: RssAnon (VmRSS on kernels without it); slopeBytesPerIteration is per request */
  rssAnon: LeakSubject
  /** informational: the whole resident set */
  vmRss: LeakSubject
}

/**
 * `idtool bench sweep` result (kind "bench.sweep"). Version 2: results of version 2 inside, `shard`;
 * version 3: results of version 3 inside (their `memory`).
 */
export interface BenchSweepResult {
  version: 3
  kind: 'bench.sweep'
  label?: string
  /** a shard's sweep (version 2): every level's result carries the same shard */
  shard?: ShardInfo
  startedAt: string
  durationMs: number
  points: Array<{
    revocationEvents: number
    rps: number
    latencyMs: { p50: number; p99: number }
    errors: number
    result: BenchValidateResult
  }>
  interrupted: boolean
}

export type LeakVerdict = 'leak' | 'no-leak' | 'inconclusive'

export interface LeakSubject {
  name: string
  pid: number | null
  metric: string
  slopeBytesPerIteration: number
  ci95: [number, number]
  startBytes: number
  endBytes: number
  samples: number
  verdict: LeakVerdict
  /** the samples themselves, for charts: [iteration, bytes] */
  series?: Array<[number, number]>
  note?: string
}

/** Percentiles of a latency distribution, ms. */
export interface LatencyPercentilesMs {
  p50: number
  p90: number
  p99: number
  max: number
}

/** One phase of the directory writes of a page-leak-check with --writers (version 2). */
export interface LeakWritePhase {
  /** writes started (on the open-model schedule) */
  writes: number
  /** writes the server accepted */
  ok: number
  /** failed writes by cause: LDAP result name and code, e.g. "busy (51)", or "timeout", "connection" */
  errors: Record<string, number>
  durationMs: number
  /** accepted writes per second over the phase */
  achievedRatePerSec: number
  /** from each write's intended time on the schedule to its answer (open model) */
  latencyMs: LatencyPercentilesMs
  /**
   * how late the writers' event loop ran during the phase (sampled every 10 ms): a large value means part of
   * the latency was spent in idtool, not in the server (the writers have a thread of their own in the CLI)
   */
  eventLoopDelayMs?: { p50: number; p99: number; max: number }
  /** the latency histogram, HdrHistogram base64 (µs) */
  histogram?: string
}

/** The directory writes of a page-leak-check with --writers (version 2). */
export interface LeakWrites {
  writers: number
  /** the schedule's rate, writes per second across all writers */
  ratePerSec: number
  /** the attribute written (replaced) on the users being paged */
  attribute: 'description'
  /** who wrote */
  bindDn: string | null
  /** planned length of the baseline phase (writes alone, before the measured searches), ms */
  baselinePlannedMs: number
  /** writes alone, before paging */
  baseline: LeakWritePhase
  /** writes while the measured searches ran */
  during: LeakWritePhase
  /** distinct entries written */
  entriesWritten: number
  /** entries whose attribute was put back as it was before the run (removed where there was none) */
  restored: number
  /** entries whose restore failed (their attribute keeps the last value written) */
  restoreErrors: number
}

/**
 * Paging consistency of a page-leak-check with --writers (version 2): every measured search compared with
 * the DNs of a plain (non-paged) search taken before the run.
 */
export interface LeakConsistency {
  /** entries of the plain search taken before the run */
  expectedEntries: number
  /** searches compared (every completed measured search) */
  searches: number
  /** searches that returned every expected DN exactly once and nothing else */
  consistent: number
  /** expected DNs a search did not return, summed over the searches */
  missing: number
  /** DNs returned more than once within a search, summed */
  duplicates: number
  /** DNs returned that the plain search did not have, summed */
  unexpected: number
}

/**
 * `idtool ldap page-leak-check` result (kind "ldap.page-leak-check"). Version 2 added `writes` and
 * `consistency` (present with --writers).
 */
export interface PageLeakCheckResult {
  version: 2
  kind: 'ldap.page-leak-check'
  mode: 'direct' | 'keystone'
  target: string
  verdict: LeakVerdict
  leakThresholdBytesPerIteration: number
  searches: number
  pages: number
  entries: number
  entriesPerSearch: number | null
  pageSize: number
  durationMs: number
  subjects: LeakSubject[]
  latencyMs: {
    page: { p50: number; p90: number; p99: number; max: number }
    search: { p50: number; p90: number; p99: number; max: number }
  }
  histograms?: { page: string; search: string }
  errors: Record<string, number>
  /** the directory writes during paging (--writers; version 2) */
  writes?: LeakWrites
  /** whether every search returned every entry exactly once (--writers; version 2) */
  consistency?: LeakConsistency
  interrupted: boolean
}

/**
 * `idtool revoke-bulk` result (kind "revoke-bulk"). Version 2 added `retries`, `reauthentications` and
 * `failureReasons`, so that `idtool report` shows every figure of the live summary.
 */
export interface RevokeBulkResult {
  version: 2
  kind: 'revoke-bulk'
  issued: number
  revoked: number
  failed: number
  skipped: number
  durationMs: number
  issueRatePerSec: number
  revokeRatePerSec: number
  revocationEventsBefore: number | null
  revocationEventsAfter: number | null
  ledger: string
  failures?: Array<{ index: number; stage: 'issue' | 'revoke'; reason: string }>
  /** how the tokens were issued (absent in results of older versions: token) */
  method?: 'token' | 'credential'
  methodNote?: string
  /** how the caller authenticated */
  caller?: 'password' | 'v3applicationcredential' | 'token'
  /** damaged ledger lines a `--resume --skip-bad-lines` left out (1-based), when there were any */
  droppedLines?: number[]
  /** tokens read from the dropped lines and revoked all the same */
  salvagedTokens?: number
  /** transient failures that were retried (version 2; absent in version 1) */
  retries?: number
  /** times the caller token was renewed, rejected mid-run or about to expire (version 2) */
  reauthentications?: number
  /**
   * every failure reason with its count, over the whole run (version 2); `failures` lists at most the first
   * 10,000 tokens
   */
  failureReasons?: Record<string, number>
  interrupted: boolean
}

/**
 * `idtool tokens issue` result (kind "tokens.issue"). Version 2 added `retries`, `reauthentications` and
 * `failureReasons`, so that `idtool report` shows every figure of the live summary.
 */
export interface TokensIssueResult {
  version: 2
  kind: 'tokens.issue'
  issued: number
  failed: number
  durationMs: number
  ratePerSec: number
  file: string
  /** how the tokens were issued (absent in results of older versions: token) */
  method?: 'token' | 'credential'
  /** why the method differs from the one asked for */
  methodNote?: string
  /** how the caller authenticated */
  caller?: 'password' | 'v3applicationcredential' | 'token'
  /** transient failures that were retried (version 2; absent in version 1) */
  retries?: number
  /** times the caller token was renewed, rejected mid-run or about to expire (version 2) */
  reauthentications?: number
  /** every failure reason with its count (version 2) */
  failureReasons?: Record<string, number>
  interrupted: boolean
}

/** Why a revocation of `bench mixed` failed (the database errors are read from Keystone's answer bodies). */
export type MixedRevocationFailureKind =
  | 'deadlock'
  | 'lock-wait-timeout'
  | 'database-locked'
  | 'http-409'
  | 'http-5xx'
  | 'timeout'
  | 'http-other'
  | 'transport'

/** One phase of `bench mixed`: the validations it measured, and the revocation event count around it. */
export interface BenchMixedPhase {
  name: 'before' | 'during' | 'after'
  startedAt: string
  durationMs: number
  requests: { total: number; ok: number; errors: number; unexpectedStatus: number; late: number }
  /** expected answers per second */
  throughput: { rps: number }
  /** of the expected answers, from the intended send time (open model) */
  latencyMs: Percentiles
  statusCodes: Record<string, number>
  errors: Record<string, number>
  /** base64 HDR V2 of latencyMs (µs) */
  histogram: string
  /** `GET /v3/OS-REVOKE/events` at the start and the end of the phase (null: could not be counted) */
  revocationEvents: { start: number | null; end: number | null }
}

/** `idtool bench mixed` result (kind "bench.mixed"): validations before, during and after revocations. */
export interface BenchMixedResult {
  /** version 2 added `memory` */
  version: 2
  kind: 'bench.mixed'
  target: string
  /** validations per second, in every phase */
  rate: number
  connections: number
  method: 'GET' | 'HEAD'
  httpClient?: 'h1' | 'undici' | 'injected'
  startedAt: string
  durationMs: number
  /** the tokens issued for the run: the validation pool, and those revoked during "during" */
  tokens: { validate: number; revoke: number }
  /** expired revocation events seeded into the lab database first (0: none) */
  expiredEvents: number
  warmup: { durationMs: number; requests: number } | null
  /** the phases run, in order (fewer than three when interrupted) */
  phases: BenchMixedPhase[]
  /** the revocations of the "during" phase */
  revocations: {
    /** revocations per second asked for */
    rate: number
    planned: number
    sent: number
    /** 204 answers (a new event each) */
    revoked: number
    failed: number
    throughput: { rps: number }
    /** every answer's, from the intended send time; null when none was sent */
    latencyMs: Percentiles | null
    histogram: string
    statusCodes: Record<string, number>
    /** failed revocations by kind (every kind listed) */
    failures: Record<MixedRevocationFailureKind, number>
    /** the first message of each kind that occurred */
    failureExamples: Partial<Record<MixedRevocationFailureKind, string>>
  }
  /** the memory of the server processes watched through every phase (`--pid`, `--watch-lab`) */
  memory?: ServerMemory
  interrupted: boolean
}

/** `idtool gate` result (kind "gate"). */
export interface GateResult {
  version: 1
  kind: 'gate'
  passed: boolean
  checks: Array<{
    name: string
    kind: 'threshold' | 'regression'
    metric: string
    actual: number | boolean | null
    limit: string
    baseline?: number | null
    changePct?: number | null
    passed: boolean
    detail?: string
    /** a check the gate applies by default (no threshold asked for it), e.g. `failures.rate < 1%` */
    default?: boolean
  }>
  inputs: string[]
  baselines: string[]
}

export type AnyResult =
  | BenchValidateResult
  | BenchSweepResult
  | BenchMixedResult
  | PageLeakCheckResult
  | RevokeBulkResult
  | TokensIssueResult
  | GateResult

// The lab: what `lab status`, `lab up` and `lab down` print with --json (not saved as result files). No
// secrets, only the files that hold them.

export type LabTlsMode = 'off' | 'tls' | 'client-certs'

/** What `lab up` was asked for; a running lab with a different spec is rebuilt. */
export interface LabSpec {
  workers: number
  cache: boolean
  db: 'sqlite' | 'mariadb'
  ldapUsers: number
  /**
   * Which haproxy frontend the `idtool-lab` cloud uses: plain HTTP (5000, the default), TLS (5443) or TLS
   * with a client certificate (5444). haproxy always serves all three; switching rewrites clouds.yaml only.
   */
  tls?: LabTlsMode
  /**
   * What serves each Keystone worker instance: uwsgi (the default; labs made before this field are uwsgi) or
   * Apache httpd with mod_wsgi in daemon mode.
   */
  server?: LabServer
}

export type LabServer = 'uwsgi' | 'apache'

export interface WorkerStatus {
  name: string
  url: string
  /** uwsgi master or Apache parent PID (what `lab down` stops, with its children). */
  pid: number | null
  /** The PID of the process serving requests (the one whose memory grows): uwsgi's worker, mod_wsgi's daemon. */
  workerPid: number | null
  healthy: boolean
}

/** `idtool lab status --json`: no secrets, only the files that hold them. */
export interface LabStatus {
  healthy: boolean
  dir: string
  exists: boolean
  spec: LabSpec | null
  cloud: string
  cloudsYaml: string
  /** The secrets of clouds.yaml (0600): OS_CLIENT_SECURE_FILE for the openstack client. */
  secureYaml: string
  /** Every cloud in clouds.yaml. */
  clouds: string[]
  /** haproxy's TLS frontends (always served) and which one the cloud idtool-lab uses. */
  tls: {
    /** `lab up` (off), `lab up --tls` (tls) or `lab up --tls-client-certs` (client-certs) */
    mode: LabTlsMode
    /** the auth_url of the cloud idtool-lab */
    cloudAuthUrl: string
    url: string
    mtlsUrl: string
    calibrationUrl: string
    caFile: string
    clientCertFile: string
    clientKeyFile: string
    /** GET /v3 answers 200 on the TLS and client-certificate frontends, and the TLS calibration frontend 200 */
    healthy: boolean
  }
  /** The lab admin's application credential (cloud idtool-lab-appcred); the secret stays in `file`. */
  appCredential: { name: string; id: string; cloud: string; file: string } | null
  keystone: {
    url: string
    adminPasswordFile: string
    workers: WorkerStatus[]
    db: string | null
    cache: boolean | null
    /** uwsgi or apache; null without a lab */
    server: LabServer | null
  }
  haproxy: { url: string; pid: number | null; healthy: boolean; statsUrl: string; calibrationUrl: string }
  ldap: {
    url: string
    bindDn: string
    baseDn: string
    usersDn: string
    users: number | null
    passwordFile: string
    pid: number | null
    healthy: boolean
  }
  mariadb: { pid: number | null; socket: string } | null
  ldapDomain: { name: string; id: string } | null
}

/** `idtool lab up --json`: the status once up, and what this run did. */
export interface LabUpResult extends LabStatus {
  /** true when no component was (re)started */
  alreadyUp: boolean
  timingsMs: Record<string, number>
  /** What this run changed besides starting components: certificates, files, the application credential. */
  changed: string[]
  /**
   * The components this run restarted in a lab made with the same spec (the others kept running); absent
   * when the whole lab was (re)started.
   */
  restarted?: string[]
}

/** `idtool lab down --json`. */
export interface LabDownResult {
  stopped: Array<{ name: string; pid: number }>
  removed: boolean
  dir: string
}
