import { setMaxListeners } from 'node:events'
import type { AuthInputs } from '../config/auth.js'
import { UsageError } from '../errors.js'
import { isForbidden } from '../keystone/policy.js'
import { type KeystoneSession, openSession } from '../keystone/session.js'
import {
  forbiddenValidationWatch,
  usableTokens,
  type ValidateToken,
  validationRequests,
  validationUrl,
} from '../keystone/validation.js'
import { TokenWire } from '../keystone/wire.js'
import { labRevocationStore, type RevocationStore } from '../lab/revocations.js'
import { isLabTarget, resolveAuthOrLab } from '../lab/target.js'
import { checkSettings, type EngineProgress, type EngineRun, runEngine } from '../load/engine.js'
import type { LaneTlsOptions } from '../load/lanes.js'
import { percentiles } from '../load/recorder.js'
import { encodeHistogram } from '../metrics/histogram.js'
import type { BenchMixedPhase, BenchMixedResult } from '../results/types.js'
import { plannedRevocations, RevocationTally, runRevocationLoad } from './revoke-load.js'
import { type ServerMemoryOptions, ServerMemoryWatch } from './server-memory.js'
import { prepareValidateTokens } from './token-pool.js'
import type { ValidateBenchSettings } from './validate.js'

/**
 * `bench mixed`: validations at a fixed rate (the open model of `bench validate`) through three phases:
 * before (validations alone), during (revocations at their own fixed rate beside them) and after
 * (validations alone again). The revocation event count is read at every phase boundary. Never prints.
 */

export type MixedPhaseName = BenchMixedPhase['name']
export const MIXED_PHASES: readonly MixedPhaseName[] = ['before', 'during', 'after']

/** How long each phase lasts, ms (each above 0). */
export type MixedPhaseDurations = Record<MixedPhaseName, number>

/** The settings of a mixed run: the validation settings (open model) and what runs beside them. */
export interface MixedBenchSettings {
  /** validation settings; the open model (`rate`), `durationMs` unused (the phases set it) */
  validate: ValidateBenchSettings
  phases: MixedPhaseDurations
  /** revocations per second during "during" */
  revokeRate: number
  /** validation tokens to issue first (kept in memory) */
  tokenCount: number
  /** LAB ONLY: seed this many already expired revocation events first (0: none) */
  expiredEvents: number
}

/** Refuse settings a mixed run cannot use (a UsageError naming the flag). */
export function checkMixedSettings(s: MixedBenchSettings): void {
  if (s.validate.model !== 'open' || !(s.validate.rate && s.validate.rate > 0))
    throw new UsageError('bench mixed validates at a fixed rate: give --rate', {
      hint: 'e.g. --rate 50 (validations per second, in every phase).',
    })
  for (const p of MIXED_PHASES) {
    if (!(s.phases[p] > 0)) throw new UsageError(`--${p} must be a duration above 0`, { hint: 'e.g. 10s.' })
  }
  if (!(s.revokeRate > 0)) throw new UsageError('--revoke-rate must be above 0', { hint: 'e.g. 20.' })
  if (!(Number.isInteger(s.expiredEvents) && s.expiredEvents >= 0))
    throw new UsageError('--expired-events must be a whole number >= 0')
}

/** Live progress of a mixed run. */
export interface MixedProgress {
  phase: MixedPhaseName
  engine: EngineProgress
  revocations: { sent: number; planned: number; failed: number }
}

/** What `bench mixed` shows while it works. */
export type MixedEvent =
  | { type: 'seeding'; inserted: number; total: number }
  | { type: 'seeded'; count: number; durationMs: number }
  | { type: 'issuing'; purpose: 'validate' | 'revoke'; issued: number; total: number }
  | { type: 'issued'; purpose: 'validate' | 'revoke'; count: number; durationMs: number }
  | { type: 'phase'; phase: MixedPhaseName; events: number | null }
  | { type: 'run'; progress: MixedProgress }
  | { type: 'phase-done'; phase: BenchMixedPhase }

/** Everything a mixed run needs, injected (tests pass a fake Keystone's URL and functions). */
export interface MixedRunOptions {
  settings: MixedBenchSettings
  /** the validation URL (no query) */
  url: string
  callerToken: string
  tokens: ValidateToken[]
  /** the tokens revoked during "during" (not validated) */
  revokeTokens: string[]
  /** revoke one token: its status (204, 404), or the typed error of a failure */
  revoke(token: string): Promise<number>
  /** the revocation event count (null: not available) */
  countEvents(): Promise<number | null>
  tls?: LaneTlsOptions
  signal?: AbortSignal
  onEvent?: (e: MixedEvent) => void
  /** server processes whose memory to sample through every phase (`--pid`, `--watch-lab`) */
  memory?: ServerMemoryWatch
}

/**
 * Run the three phases. Validations keep their schedule's rate in each phase (a phase is one run of the load
 * engine); revocations run beside the "during" one, on their own schedule. On abort, the phases run so far
 * (the last one partial) with `interrupted: true`.
 */
export async function runMixedBench(o: MixedRunOptions): Promise<BenchMixedResult> {
  checkMixedSettings(o.settings)
  checkSettings({ ...o.settings.validate, durationMs: o.settings.phases.before })
  const usable = usableTokens(o.tokens)
  if (usable.length === 0) throw new RangeError('the token pool holds no usable token')
  const v = o.settings.validate
  const requests = validationRequests(
    { url: o.url, callerToken: o.callerToken, nocatalog: v.nocatalog },
    usable,
  )
  const t0 = Date.now()
  const t0Mono = performance.now()
  const phases: BenchMixedPhase[] = []
  const tally = new RevocationTally()
  let warmup: EngineRun['warmup'] = null
  let httpClient: EngineRun['httpClient'] | undefined
  let interrupted = false
  let events = await o.countEvents()
  // the memory's x axis: validations answered in the phases before this one, and their failures
  const served = { before: 0, failed: 0 }
  const observe = (completed: number, failed: number) =>
    o.memory?.observe(served.before + completed + tally.sent, served.failed + failed + tally.failed)
  for (const name of MIXED_PHASES) {
    if (o.signal?.aborted) {
      interrupted = true
      break
    }
    o.onEvent?.({ type: 'phase', phase: name, events })
    const durationMs = o.settings.phases[name]
    const startedAt = new Date().toISOString()
    const revoking =
      name === 'during'
        ? runRevocationLoad({
            tokens: o.revokeTokens,
            rate: o.settings.revokeRate,
            durationMs,
            revoke: o.revoke,
            signal: o.signal,
            tally,
          })
        : undefined
    const run = await runEngine(
      {
        ...v,
        ...requests,
        requests: undefined,
        durationMs,
        // the warm-up (cold tokens, new connections) before the first phase only
        warmupMs: name === 'before' ? v.warmupMs : 0,
      },
      {
        tls: o.tls,
        signal: o.signal,
        watch: forbiddenValidationWatch(v.method, () => Boolean(o.signal?.aborted)),
        onProgress: (engine) => {
          if (engine.phase === 'measure') observe(engine.completed, engine.errors + engine.unexpectedStatus)
          o.onEvent?.({
            type: 'run',
            progress: {
              phase: name,
              engine,
              revocations: { sent: tally.sent, planned: tally.planned, failed: tally.failed },
            },
          })
        },
      },
    )
    await revoking
    served.before += run.recorder.total
    served.failed += run.recorder.transportErrors + run.recorder.unexpectedStatus
    if (name === 'before') warmup = run.warmup
    httpClient = run.httpClient
    const start = events
    events = run.interrupted ? null : await o.countEvents()
    const phase = phaseOf(name, startedAt, run, { start, end: events })
    phases.push(phase)
    o.onEvent?.({ type: 'phase-done', phase })
    if (run.interrupted) {
      interrupted = true
      break
    }
  }
  return {
    version: 2,
    kind: 'bench.mixed',
    target: o.url,
    rate: v.rate!,
    connections: v.connections,
    method: v.method,
    ...(httpClient ? { httpClient } : {}),
    startedAt: new Date(t0).toISOString(),
    durationMs: round(performance.now() - t0Mono, 1),
    tokens: { validate: usable.length, revoke: o.revokeTokens.length },
    expiredEvents: o.settings.expiredEvents,
    warmup,
    phases,
    revocations: revocationsOf(tally, o.settings.revokeRate),
    ...(o.memory
      ? { memory: o.memory.finish(served.before + tally.sent, served.failed + tally.failed) }
      : {}),
    interrupted,
  }
}

const round = (n: number, d = 3) => Math.round(n * 10 ** d) / 10 ** d

/** The validations of one phase. */
export function phaseOf(
  name: MixedPhaseName,
  startedAt: string,
  run: EngineRun,
  revocationEvents: BenchMixedPhase['revocationEvents'],
): BenchMixedPhase {
  const { recorder: rec, summary: s } = run
  const seconds = s.durationMs / 1000
  return {
    name,
    startedAt,
    durationMs: round(s.durationMs, 1),
    requests: {
      total: rec.total,
      ok: rec.ok,
      errors: rec.transportErrors,
      unexpectedStatus: rec.unexpectedStatus,
      late: s.late,
    },
    throughput: { rps: seconds > 0 ? round(rec.ok / seconds, 1) : 0 },
    latencyMs: percentiles(rec.latency),
    statusCodes: rec.statusCodes(),
    errors: rec.errors(),
    histogram: encodeHistogram(rec.latency),
    revocationEvents,
  }
}

/** The revocations of the run. */
export function revocationsOf(t: RevocationTally, rate: number): BenchMixedResult['revocations'] {
  const seconds = (t.endMs - t.startMs) / 1000
  return {
    rate,
    planned: t.planned,
    sent: t.sent,
    revoked: t.revoked,
    failed: t.failed,
    throughput: { rps: seconds > 0 ? round(t.revoked / seconds, 1) : 0 },
    latencyMs: t.latency.totalCount > 0 ? percentiles(t.latency) : null,
    histogram: encodeHistogram(t.latency),
    statusCodes: Object.fromEntries(t.statusCodes),
    failures: t.failureRecord(),
    failureExamples: Object.fromEntries(t.examples),
  }
}

// ---- the whole command: target, confirmation, seeding, tokens, run ----------------------------------------

export interface BenchMixedOptions {
  settings: MixedBenchSettings
  /** the connection flags and environment; nothing named: the local lab */
  auth: AuthInputs
  /** the lab's directory (for --expired-events) */
  labDir: string
  /** watch the memory of server processes through every phase (`--pid`, `--watch-lab`) */
  memory?: ServerMemoryOptions
}

export interface BenchMixedCallbacks {
  /** Asked before tokens are revoked on the target; throws to refuse. */
  confirm(authUrl: string, what: string): Promise<void>
  /** The signal that stops the run, taken once the target is checked and confirmed. */
  interruptSignal(): AbortSignal
  warn(message: string): void
  onEvent(e: MixedEvent): void
}

/** Expired events are seeded this long in the past: beyond Keystone's prune cutoff (expiration + buffer). */
const EXPIRED_AGE_MS = 24 * 3600 * 1000

/**
 * `bench mixed` from start to end: resolve and check the target (the lab by default; --expired-events only on
 * the lab), confirm the revocations, seed the expired events, issue both token sets, run the phases.
 */
export async function benchMixed(o: BenchMixedOptions, cb: BenchMixedCallbacks): Promise<BenchMixedResult> {
  checkMixedSettings(o.settings)
  const s = o.settings
  const auth = resolveAuthOrLab(o.auth)
  if (s.expiredEvents > 0 && !isLabTarget(auth.authUrl, o.labDir)) {
    throw new UsageError(`--expired-events works on the idtool lab only, and the target is ${auth.authUrl}`, {
      hint: `drop --expired-events, or target the lab (no lab found in ${o.labDir} for that URL).`,
    })
  }
  // a PID that is not there fails before any work
  const memory = o.memory ? ServerMemoryWatch.open(o.memory, cb.warn) : undefined
  const revokeCount = plannedRevocations(s.revokeRate, s.phases.during)
  await cb.confirm(auth.authUrl, `issue and revoke ${revokeCount} tokens while validating`)
  const signal = cb.interruptSignal()
  setMaxListeners(256, signal)
  const session = await openSession(auth, {
    warn: cb.warn,
    timeoutMs: s.validate.timeoutMs,
    backendHeader: s.validate.backendHeader,
    connections: 8,
    signal,
  })
  const wire = new TokenWire(session.dispatcher, session.client.base, s.validate.timeoutMs, {
    connections: 8,
  })
  try {
    // after the session: a target that refuses the caller leaves nothing seeded behind
    if (s.expiredEvents > 0) await seedExpired(labRevocationStore(o.labDir), s.expiredEvents, cb)
    const validate = await issueFor(session, 'validate', s.tokenCount, signal, cb)
    const revoke = await issueFor(session, 'revoke', revokeCount, signal, cb)
    let warned = false
    return await runMixedBench({
      settings: s,
      url: validationUrl(session.client.base),
      callerToken: session.caller.token,
      tokens: validate,
      revokeTokens: revoke.map((t) => t.token),
      revoke: async (token) => (await wire.revoke(session.caller.token, token)).status,
      countEvents: async () => {
        try {
          return (await session.client.listRevocationEvents(session.caller.token)).length
        } catch (err) {
          if (signal.aborted) return null
          if (!warned) {
            warned = true
            cb.warn(
              `cannot count revocation events (${isForbidden(err) ? '403: the caller lacks identity:list_revoke_events' : (err as Error).message}); reporting null`,
            )
          }
          return null
        }
      },
      tls: session.tls,
      signal,
      onEvent: cb.onEvent,
      ...(memory ? { memory } : {}),
    })
  } finally {
    wire.close()
    await session.close()
  }
}

async function issueFor(
  session: KeystoneSession,
  purpose: 'validate' | 'revoke',
  count: number,
  signal: AbortSignal,
  cb: BenchMixedCallbacks,
): Promise<ValidateToken[]> {
  const t0 = Date.now()
  const prepared = await prepareValidateTokens(
    session,
    { count },
    { signal, onProgress: (issued, total) => cb.onEvent({ type: 'issuing', purpose, issued, total }) },
  )
  cb.onEvent({ type: 'issued', purpose, count: prepared.issued, durationMs: Date.now() - t0 })
  return prepared.tokens
}

async function seedExpired(store: RevocationStore, count: number, cb: BenchMixedCallbacks): Promise<void> {
  const t0 = Date.now()
  await store.seed(count, {
    at: new Date(Date.now() - EXPIRED_AGE_MS),
    onProgress: (inserted) => cb.onEvent({ type: 'seeding', inserted, total: count }),
  })
  cb.onEvent({ type: 'seeded', count, durationMs: Date.now() - t0 })
}
