import { benchMixed } from '../../bench/mixed.js'
import { BaseCommand } from '../../cli/base-command.js'
import { durationFlag, osFlagInputs, osFlags } from '../../cli/flags.js'
import { labDirFlag } from '../../cli/lab-flags.js'
import {
  leakFails,
  SERVER_MEMORY_HELP,
  serverMemoryFlags,
  serverMemoryFromFlags,
} from '../../cli/memory-flags.js'
import { Flags } from '../../cli/oclif.js'
import { mixedEventLine, showEvents } from '../../cli/progress.js'
import { benchValidateFlags, validateSettingsFromFlags } from '../../cli/validate-flags.js'
import { ExitCode } from '../../exit-codes.js'
import { renderMixedTable } from '../../report/mixed.js'
import type { BenchMixedResult } from '../../results/types.js'

// the validation flags of bench validate that apply here (the phases set the duration, the rate the model)
const {
  tokens: _tokens,
  requests: _requests,
  duration: _duration,
  concurrency: _concurrency,
  hgrm: _hgrm,
  rate: _rate,
  'token-count': _tokenCount,
  ...validateFlags
} = benchValidateFlags

const phaseFlag = (description: string) =>
  durationFlag({ description, default: 10_000, defaultHelp: async () => '10s', helpGroup: 'PHASES' })

export default class BenchMixed extends BaseCommand {
  // Ctrl-C before the work starts says so (exit 130); after, the run stops and keeps its partial result
  static override interruptible = true

  static override summary =
    'Validations at a fixed rate before, during and after revocations at their own rate.'

  static override description = [
    'Three phases, one after the other: before (validations alone), during (revocations beside them) and after (validations alone again). Validations run at --rate per second in every phase (the open model of `bench validate`: latency counts from the intended send time), over a pool of --token-count tokens issued first and kept in memory. During "during", other tokens issued for the purpose before the run are revoked through the API (DELETE /v3/auth/tokens) at --revoke-rate per second, each once, without retries.',
    'Per phase: validations, throughput, p50/p99/max, unexpected statuses and errors, and the revocation event count (GET /v3/OS-REVOKE/events) at its start and end. Revocations: latency percentiles and failures by kind: the database errors Keystone puts in its answer bodies (deadlock, lock wait timeout, "database is locked"), 409, other 5xx, timeouts, other statuses, other transport failures.',
    '--expired-events N (LAB ONLY) first inserts N revocation events revoked a day ago into the lab database: Keystone deletes expired events when it records a revocation, so the first revocations have that housekeeping to do. Refused on any other target (exit 2). Rows left behind: `idtool lab clear-revocations --seeded-only`.',
    `${SERVER_MEMORY_HELP} bench mixed counts validations of every phase plus revocations sent as requests.`,
    'A Keystone that is not on loopback is asked for confirmation first (refused without --yes when stdin is not a terminal). Exit status: 0 when every validation and revocation got its expected answer; 4 when some did not (the result is still printed); 5 when a watched process leaked and --fail-on-leak was given; 130 on Ctrl-C (the phases so far are printed and saved to --out). Gate thresholds per phase, e.g. `idtool gate r.json --threshold "during.p99 < 500ms" --threshold "revocations.failed == 0"`.',
  ].join('\n\n')

  static override examples = [
    {
      description: 'On the lab: 50 validations/s, 20 revocations/s during the middle 10 s',
      command: '<%= config.bin %> <%= command.id %> --rate 50 --revoke-rate 20 --out mixed.json',
    },
    {
      description: 'The same with 20,000 expired revocation events for Keystone to prune (lab only)',
      command:
        '<%= config.bin %> <%= command.id %> --rate 50 --revoke-rate 20 --expired-events 20000 --before 10s --during 10s --after 10s',
    },
    {
      description: 'Another cloud (asks first), machine-readable',
      command:
        '<%= config.bin %> <%= command.id %> --os-cloud staging --rate 100 --revoke-rate 5 --during 30s --yes --json',
    },
  ]

  static override flags = {
    ...osFlags,
    rate: Flags.integer({
      description:
        'validations per second, in every phase (fixed schedule; latency from the intended send time)',
      required: true,
      min: 1,
      max: 10_000_000,
      helpGroup: 'LOAD',
    }),
    'revoke-rate': Flags.integer({
      description: 'revocations per second during "during"',
      default: 10,
      min: 1,
      max: 100_000,
      helpGroup: 'LOAD',
    }),
    'token-count': Flags.integer({
      description: 'validation tokens to issue first (kept in memory)',
      default: 100,
      min: 1,
      max: 1_000_000,
      helpGroup: 'TOKENS',
    }),
    before: phaseFlag('validations alone, first'),
    during: phaseFlag('validations and revocations'),
    after: phaseFlag('validations alone again'),
    'expired-events': Flags.integer({
      description: 'LAB ONLY: first seed this many already expired revocation events into the lab database',
      default: 0,
      min: 0,
      max: 10_000_000,
      helpGroup: 'PHASES',
    }),
    dir: labDirFlag,
    yes: Flags.boolean({
      char: 'y',
      description: 'do not ask for confirmation before revoking tokens on a non-loopback Keystone',
    }),
    ...validateFlags,
    ...serverMemoryFlags,
  }

  async run(): Promise<BenchMixedResult> {
    const { flags } = await this.parse(BenchMixed)
    const validate = validateSettingsFromFlags({ ...flags, duration: flags.before })
    const memory = serverMemoryFromFlags(flags, flags.dir)
    this.checkOutputPaths([['--out', flags.out]])
    const progress = this.progress()
    const warn = (m: string) => this.warnLine(m)
    const result = await benchMixed(
      {
        settings: {
          validate,
          phases: { before: flags.before, during: flags.during, after: flags.after },
          revokeRate: flags['revoke-rate'],
          tokenCount: flags['token-count'],
          expiredEvents: flags['expired-events'],
        },
        auth: { flags: osFlagInputs(flags), env: process.env },
        labDir: flags.dir,
        ...(memory ? { memory } : {}),
      },
      {
        confirm: (url, what) => this.confirmKeystoneChange(url, what, flags.yes),
        interruptSignal: () => this.interruptSignal(),
        warn,
        onEvent: showEvents(mixedEventLine, { progress, warn, info: (m) => this.info(m) }),
      },
    ).finally(() => progress.done())
    this.saveRunOutputs([{ path: flags.out, content: () => `${JSON.stringify(result, null, 2)}\n` }])
    if (!this.jsonEnabled()) this.log(renderMixedTable(result))
    const validationFailures = result.phases.some((p) => p.requests.ok < p.requests.total)
    if (result.interrupted) this.setExitCode(ExitCode.Interrupted)
    else if (leakFails(flags, result.memory)) this.setExitCode(ExitCode.Leak)
    else if (validationFailures || result.revocations.failed > 0) this.setExitCode(ExitCode.Partial)
    return result
  }
}
