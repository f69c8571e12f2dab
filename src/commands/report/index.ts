import { BaseCommand } from '../../cli/base-command.js'
import { Args, Flags } from '../../cli/oclif.js'
import { UsageError } from '../../errors.js'
import { type LoadedResult, REPORT_FORMATS, type ReportFormat, renderResults } from '../../report/render.js'
import { loadResult } from '../../results/load.js'

export default class Report extends BaseCommand {
  static override summary =
    'Render saved results as a table, JSON, Markdown, .hgrm or one self-contained HTML file.'
  static override description =
    `Reads results saved with --out (bench validate, bench sweep, bench mixed, ldap page-leak-check, revoke-bulk, tokens issue, gate) and renders them:
  table     the terminal tables (a sweep adds a bar chart of throughput and p99 per level)
  json      the result itself (an array for several files)
  markdown  headings and tables for a pull request, a wiki or a ticket
  hgrm      the percentile distribution in HdrHistogram's .hgrm format (one file; see --histogram, --level)
  html      one self-contained HTML file: no script, no network, charts drawn as inline SVG. A bench run gets its latency percentile spectrum (log scale of 1/(1-p), like HdrHistogram's plotter) with one line per backend; a sweep gets throughput and p50/p99 against revocation events (several sweeps are overlaid in the same charts) and a spectrum per level; a leak check gets memory against iterations with the fitted slope for each subject. Without --out the rendering goes to stdout.`

  static override strict = false

  static override args = {
    file: Args.string({ description: 'result JSON file(s) saved with --out', required: true }),
  }

  static override examples = [
    { description: 'A saved bench run as tables', command: '<%= config.bin %> <%= command.id %> bench.json' },
    {
      description: 'Three sweeps (SQLite, SQLite after ANALYZE, MariaDB) overlaid in one HTML page',
      command:
        '<%= config.bin %> <%= command.id %> sqlite.json analyzed.json mariadb.json --format html --out sweeps.html',
    },
    {
      description: 'Markdown for a pull request',
      command: '<%= config.bin %> <%= command.id %> bench.json --format markdown',
    },
    {
      description: "The .hgrm of one backend, for HdrHistogram's plotter",
      command: '<%= config.bin %> <%= command.id %> bench.json --format hgrm --histogram ks1 --out ks1.hgrm',
    },
  ]

  static override flags = {
    format: Flags.string({
      char: 'f',
      description: 'output format',
      options: [...REPORT_FORMATS],
      default: 'table',
    }),
    out: Flags.string({ char: 'o', description: 'write to this file instead of stdout' }),
    title: Flags.string({ description: 'title of the HTML or Markdown report' }),
    histogram: Flags.string({
      description:
        'hgrm: which histogram (bench: latency [default], uncorrected or a backend name; page-leak-check: page [default] or search; bench mixed: before, during [default], after or revocations)',
    }),
    level: Flags.integer({
      description:
        'hgrm of a sweep: the point whose revocation event count is nearest this (default: the first)',
      min: 0,
    }),
  }

  async run() {
    const { argv, flags } = await this.parse(Report)
    const files = (argv as string[]).filter((a) => a.length > 0)
    if (files.length === 0)
      throw new UsageError('give at least one result file', { hint: 'e.g. idtool report bench.json' })
    this.checkOutputPaths([['--out', flags.out]])
    const inputs: LoadedResult[] = files.map((f) => ({ result: loadResult(f), source: f }))
    if (this.jsonEnabled()) return inputs.length === 1 ? inputs[0]!.result : inputs.map((i) => i.result)
    const text = renderResults(inputs, flags.format as ReportFormat, {
      title: flags.title,
      histogram: flags.histogram,
      level: flags.level,
    })
    if (flags.out) {
      this.writeOutputFile(flags.out, text)
      this.info(
        `wrote ${flags.format} report of ${files.length} result${files.length === 1 ? '' : 's'} to ${flags.out}`,
      )
    } else {
      process.stdout.write(text)
    }
    return undefined
  }
}
