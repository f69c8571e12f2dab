import { BaseCommand } from '../../cli/base-command.js'
import { Args, Flags } from '../../cli/oclif.js'
import { UsageError } from '../../errors.js'
import { mergeBenchResults } from '../../metrics/gate.js'
import { mergeSweepShards, ranTogether } from '../../metrics/merge.js'
import { renderTable } from '../../report/render.js'
import { loadResult, resultJson } from '../../results/load.js'
import type { BenchSweepResult, BenchValidateResult } from '../../results/types.js'

export default class ReportMerge extends BaseCommand {
  static override summary =
    'Merge bench validate results taken at the same time by several processes or machines.'
  static override description =
    `The basis of multi-machine runs: start \`idtool bench validate --out part-N.json\` on several machines (or processes) against the same target at the same time, then merge the parts. Latency histograms are added exactly (overall, uncorrected, per backend, cold and warm), so the merged percentiles are those of one histogram fed every request; counts, status codes and errors are summed; throughput, concurrency, connections and rate are summed because the runs overlapped; the duration is the longest one. The merged result records how many results went into it (mergedFrom).

Shards (\`bench validate --shard i/n\`) merge only as a complete set of one run: every index once, one config hash, the same histogram settings; otherwise exit 2, naming the shards. --allow-partial merges an incomplete set and marks it partial: true. The shards of one \`bench sweep --shard\` merge level by level the same way.`

  static override strict = false

  static override args = {
    file: Args.string({ description: 'bench validate result files to merge', required: true }),
  }

  static override examples = [
    {
      description: "Merge two machines' runs and render the merged result",
      command: '<%= config.bin %> <%= command.id %> m1.json m2.json --out merged.json',
    },
    {
      description: 'Merge the three shards of one load (bench validate --shard 0/3, 1/3, 2/3)',
      command: '<%= config.bin %> <%= command.id %> shard-0.json shard-1.json shard-2.json --out merged.json',
    },
    {
      description: 'Print the merged JSON',
      command: '<%= config.bin %> <%= command.id %> part-*.json --json',
    },
  ]

  static override flags = {
    out: Flags.string({ char: 'o', description: 'write the merged result (JSON) to this file' }),
    'allow-partial': Flags.boolean({
      description:
        'shard results (bench validate --shard): merge an incomplete set, marked partial: true, instead of refusing it (exit 2)',
    }),
  }

  async run(): Promise<BenchValidateResult | BenchSweepResult> {
    const { argv, flags } = await this.parse(ReportMerge)
    const files = (argv as string[]).filter((a) => a.length > 0)
    if (files.length === 0)
      throw new UsageError('give the result files to merge', {
        hint: 'e.g. idtool report merge part-1.json part-2.json --out merged.json',
      })
    this.checkOutputPaths([['--out', flags.out]])
    const parts = files.map((f) =>
      loadResult(f, {
        kinds: ['bench.validate', 'bench.sweep'],
        otherKind: 'only bench.validate results (and the shards of one bench sweep) merge',
      }),
    )
    const opts = { allowPartial: flags['allow-partial'], labels: files }
    const sweeps = parts.filter((p): p is BenchSweepResult => p.kind === 'bench.sweep')
    if (sweeps.length > 0 && sweeps.length < parts.length)
      throw new UsageError('cannot merge bench sweep results with bench validate results', {
        hint: 'merge the shards of one sweep, or bench validate results.',
      })
    const merged =
      sweeps.length > 0
        ? mergeSweepShards(sweeps, opts)
        : mergeBenchResults(parts as BenchValidateResult[], opts)
    const set = merged.kind === 'bench.sweep' ? merged.points[0]?.result : merged
    if (set?.partial)
      this.warnLine(
        `partial shard set: shards ${set.shards?.indices.join(', ')} of ${set.shards?.count}; the merged result is not the whole load`,
      )
    if (sweeps.length === 0 && !ranTogether(parts as BenchValidateResult[])) {
      this.warnLine(
        'the runs did not overlap in time (one started after the others had ended): summed throughput overstates what the target sustained',
      )
    }
    if (flags.out) {
      this.writeOutputFile(flags.out, resultJson(merged))
      this.info(`merged ${files.length} results into ${flags.out}`)
      if (!this.jsonEnabled()) this.log(renderTable(merged))
    } else if (!this.jsonEnabled()) {
      process.stdout.write(resultJson(merged))
    }
    return merged
  }
}
