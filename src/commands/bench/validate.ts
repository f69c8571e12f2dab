import { benchValidate } from '../../bench/validate.js'
import { BaseCommand } from '../../cli/base-command.js'
import { osFlagInputs, osFlags, scenarioFlag } from '../../cli/flags.js'
import {
  leakFails,
  SERVER_MEMORY_HELP,
  serverMemoryFlags,
  serverMemoryFromFlags,
} from '../../cli/memory-flags.js'
import { showEvents, validateEventLine } from '../../cli/progress.js'
import { parseWorkers, shardFlags, shardPlanFromFlags, workersFlag } from '../../cli/shard-flags.js'
import {
  benchValidateFlags,
  tokenSourceFromFlags,
  validateSettingsFromFlags,
} from '../../cli/validate-flags.js'
import { ExitCode } from '../../exit-codes.js'
import { decodeHistogram, toHgrm } from '../../metrics/histogram.js'
import { renderBenchValidateTable } from '../../report/bench.js'
import type { BenchValidateResult } from '../../results/types.js'
import { applyScenarioFlag } from '../../scenario/index.js'

export default class BenchValidate extends BaseCommand {
  // Ctrl-C before the work starts says so (exit 130); after, the run stops and keeps its partial result
  static override interruptible = true

  static override summary =
    'Token validation load (GET/HEAD /v3/auth/tokens) through a load balancer, measured truthfully.'

  static override description = [
    'Validates tokens from a pool (X-Subject-Token, the next token of the pool each request) as the configured user (X-Auth-Token), in one of two load models.',
    "Closed model, --concurrency C: C requests in flight, each sent when the previous one answered (like ab -c). Open model, --rate R: R requests per second on a fixed schedule (like wrk2); latency counts from each request's intended send time, so a stalled server shows in the tail instead of hiding (coordinated omission). The uncorrected figures are reported too, and requests that reach their socket over 2 ms late are counted.",
    'Requests spread round robin over --connections sockets (keep-alive unless --no-keepalive), and every answer is attributed to the backend named by --backend-header. Tokens the pool marks revoked must answer 404, the others 200: any other answer counts as an unexpected status. The first validation of each token is reported as cold, repeats as warm (Keystone caches validations). Latencies are kept in HDR histograms (integer microseconds), never as lists of samples.',
    SERVER_MEMORY_HELP,
    'Exit status: 0 when every request got its expected answer; 4 when some did not (transport errors or unexpected statuses; the result is still printed); 5 when a watched process leaked and --fail-on-leak was given; 130 on Ctrl-C (the partial result is printed and saved to --out).',
  ].join('\n\n')

  static override examples = [
    {
      description: 'Closed model, 10 in flight, 2,000 validations of 100 freshly issued tokens',
      command: '<%= config.bin %> <%= command.id %> --token-count 100 --concurrency 10 --requests 2000',
    },
    {
      description: 'Open model, 150 requests per second for 30 s after a 5 s warm-up, from a pool file',
      command:
        '<%= config.bin %> <%= command.id %> --tokens pool.jsonl --rate 150 --duration 30s --warmup 5s --out result.json --hgrm latency.hgrm',
    },
    {
      description: 'Like `ab -n 4000 -c 20` without keep-alive, HEAD checks without catalog',
      command:
        '<%= config.bin %> <%= command.id %> --tokens pool.jsonl --requests 4000 --concurrency 20 --no-keepalive --http-method HEAD --nocatalog',
    },
    {
      description:
        'Shard 1 of 3 of a 300 req/s load, measuring from a common start; merge the three --out files with `idtool report merge`',
      command:
        '<%= config.bin %> <%= command.id %> --tokens pool.jsonl --rate 300 --duration 30s --warmup 5s --shard 1/3 --start-at 2026-11-30T10:00:00Z --out shard-1.json',
    },
    {
      description:
        'Both cores of this machine: two worker threads, each half of the load, merged into one result',
      command:
        '<%= config.bin %> <%= command.id %> --tokens pool.jsonl --concurrency 20 --duration 10s --workers 2',
    },
    {
      description:
        "Watch the memory of the lab's Keystone workers during a 60 s run at 100 requests per second",
      command: '<%= config.bin %> <%= command.id %> --watch-lab --rate 100 --duration 60s',
    },
    {
      description: 'Machine-readable result',
      command: '<%= config.bin %> <%= command.id %> --token-count 50 --duration 10s --concurrency 5 --json',
    },
  ]

  static override flags = {
    ...scenarioFlag,
    ...osFlags,
    ...benchValidateFlags,
    ...shardFlags,
    ...workersFlag,
    ...serverMemoryFlags,
  }

  async run(): Promise<BenchValidateResult> {
    const { flags: parsed, metadata } = await this.parse(BenchValidate)
    const flags = await applyScenarioFlag(BenchValidate, 'bench:validate', parsed, metadata)
    const settings = validateSettingsFromFlags(flags)
    const source = tokenSourceFromFlags(flags)
    const shard = shardPlanFromFlags(flags)
    const workers = parseWorkers(flags.workers)
    const memory = serverMemoryFromFlags(flags)
    // output files are checked before any work: a bad path fails at once, not after the run
    this.checkOutputPaths([
      ['--out', flags.out],
      ['--hgrm', flags.hgrm],
    ])
    const signal = this.interruptSignal()
    const progress = this.progress()
    const warn = (m: string) => this.warnLine(m)
    const result = await benchValidate(
      {
        settings,
        source,
        auth: { flags: osFlagInputs(flags), env: process.env },
        signal,
        shard,
        workers,
        ...(memory ? { memory } : {}),
      },
      { warn, onEvent: showEvents(validateEventLine, { progress, warn, info: (m) => this.info(m) }) },
    ).finally(() => progress.done())
    this.saveRunOutputs([
      { path: flags.out, content: () => `${JSON.stringify(result, null, 2)}\n` },
      { path: flags.hgrm, content: () => toHgrm(decodeHistogram(result.histogram)) },
    ])
    if (!this.jsonEnabled()) this.log(renderBenchValidateTable(result))
    if (result.interrupted) this.setExitCode(ExitCode.Interrupted)
    else if (leakFails(flags, result.memory)) this.setExitCode(ExitCode.Leak)
    else if (result.requests.ok < result.requests.total) this.setExitCode(ExitCode.Partial)
    return result
  }
}
