import { Args, Flags } from '@oclif/core'
import { BaseCommand } from '../../cli/base-command.js'
import { UsageError } from '../../errors.js'
import { mergeBenchResults } from '../../metrics/gate.js'
import { ranTogether } from '../../metrics/merge.js'
import { renderTable } from '../../report/render.js'
import { loadResult, resultJson } from '../../results/load.js'
import type { BenchValidateResult } from '../../results/types.js'

export default class ReportMerge extends BaseCommand {
  static override summary =
    'Merge bench validate results taken at the same time by several processes or machines.'
  static override description =
    `The basis of multi-machine runs: start \`idtool bench validate --out part-N.json\` on several machines (or processes) against the same target at the same time, then merge the parts. Latency histograms are added exactly (overall, uncorrected, per backend, cold and warm), so the merged percentiles are those of one histogram fed every request; counts, status codes and errors are summed; throughput, concurrency, connections and rate are summed because the runs overlapped; the duration is the longest one. The merged result records how many results went into it (mergedFrom).

Shards (\`bench validate --shard i/n\`) merge only as a complete set of one run: every index once, one config hash, the same histogram settings; otherwise exit 2, naming the shards. --allow-partial merges an incomplete set and marks it partial: true.`

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

  async run(): Promise<BenchValidateResult> {
    const { argv, flags } = await this.parse(ReportMerge)
    const files = (argv as string[]).filter((a) => a.length > 0)
    if (files.length === 0)
      throw new UsageError('give the result files to merge', {
        hint: 'e.g. idtool report merge part-1.json part-2.json --out merged.json',
      })
    this.checkOutputPaths([['--out', flags.out]])
    const parts = files.map((f) =>
      loadResult(f, { kinds: ['bench.validate'], otherKind: 'only bench.validate results merge' }),
    )
    const merged = mergeBenchResults(parts, { allowPartial: flags['allow-partial'], labels: files })
    if (merged.partial)
      this.warnLine(
        `partial shard set: shards ${merged.shards?.indices.join(', ')} of ${merged.shards?.count}; the merged result is not the whole load`,
      )
    if (!ranTogether(parts)) {
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
