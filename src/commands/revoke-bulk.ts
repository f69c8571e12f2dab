import { BaseCommand } from '../cli/base-command.js'
import { bulkRunCallbacks } from '../cli/bulk-progress.js'
import { osFlagInputs, osFlags } from '../cli/flags.js'
import { Flags } from '../cli/oclif.js'
import { bulkFlags, bulkSettings, checkBulkConcurrency } from '../cli/token-flags.js'
import { revokeBulkRun } from '../keystone/revoke-bulk.js'
import { resolveAuthOrLab } from '../lab/target.js'
import { renderRevokeBulk } from '../report/tokens.js'
import type { RevokeBulkResult } from '../results/types.js'

export default class RevokeBulk extends BaseCommand {
  // Ctrl-C before the work starts says so (exit 130); after, the run stops and keeps its partial result
  static override interruptible = true

  static override summary =
    'Issue and revoke tokens in bulk, or revoke a token pool, with a resumable ledger.'
  static override description =
    `Raises Keystone's revocation event count the fast way, for reproducing validation slowdowns.

--count N issues N tokens and revokes them (in chunks of up to 5000); --from POOL.jsonl revokes the tokens of a
pool written by \`idtool tokens issue\` (an empty pool is refused, exit 2) and marks them revoked in it, so
\`bench validate --tokens POOL\` then expects 404 for them. Every token's state (issued, revoked, failed with
the reason) goes to a ledger (JSON Lines, mode 0600: it holds tokens) the moment it changes. --resume continues an interrupted or
killed run from its ledger: nothing issued is left unrevoked and nothing is revoked twice (a token whose
revocation was not yet recorded is sent again; Keystone answers 404 and creates no second event).
revoke-bulk only ever revokes tokens it issued or that the given pool lists. A damaged ledger line stops
--resume, naming the line; --skip-bad-lines continues without it, reports the dropped lines (stderr and the
result's droppedLines), and still revokes a token whose damaged "issued" line can be read.

"revoked" counts 204 answers (each a new revocation event); "skipped" counts tokens already revoked or expired
(per the ledger or the pool) and 404 answers. Events are counted with GET /v3/OS-REVOKE/events (null when
the user may not list them). Keystone prunes events older than the token lifetime plus its expiration buffer
(about 1.5 h on the lab).

--method token (the default) authenticates once with the password and issues every other token from that
token: no password hashing on the server, 20-30x faster than --method password on the lab.

Against a Keystone that is not on loopback it asks for confirmation, and refuses without --yes when stdin
is not a terminal. At most --concurrency requests are in flight; transient failures (5xx, resets, timeouts)
are retried with exponential backoff and jitter; an expired caller token is renewed with the password.
Ctrl-C stops, writes the ledger and the partial result, and exits 130; exit 4 when some tokens failed.`

  static override examples = [
    {
      description: 'Issue 2000 tokens and revoke them, 4 requests in flight',
      command: '<%= config.bin %> <%= command.id %> --count 2000',
    },
    {
      description: 'Revoke the tokens of a pool, at most 50 requests per second',
      command: '<%= config.bin %> <%= command.id %> --from pool.jsonl --rate 50',
    },
    {
      description: 'Continue an interrupted run',
      command: '<%= config.bin %> <%= command.id %> --resume --ledger run.jsonl',
    },
    {
      description: 'Continue a run whose ledger has a damaged line, without that line',
      command: '<%= config.bin %> <%= command.id %> --resume --ledger run.jsonl --skip-bad-lines',
    },
    {
      description: 'A remote cloud, confirmed up front, result as JSON',
      command: '<%= config.bin %> <%= command.id %> --os-cloud staging --count 500 --yes --json',
    },
  ]

  static override flags = {
    ...osFlags,
    count: Flags.integer({
      char: 'n',
      description: 'issue this many tokens, then revoke them',
      min: 1,
      max: 10_000_000,
      exclusive: ['from'],
    }),
    from: Flags.string({
      description: 'revoke the tokens of this pool file (from `idtool tokens issue`)',
      exclusive: ['count'],
    }),
    ledger: Flags.string({
      description:
        'ledger file (0600); default: a new file in $XDG_STATE_HOME/idtool/revoke-bulk (~/.local/state/...), ' +
        'with --resume the newest unfinished one there',
    }),
    resume: Flags.boolean({ description: 'continue the run recorded in the ledger' }),
    'skip-bad-lines': Flags.boolean({
      description:
        'with --resume: leave out damaged ledger lines instead of refusing the ledger (every readable record ' +
        'is kept; the dropped lines are reported and recorded in the ledger)',
      dependsOn: ['resume'],
    }),
    yes: Flags.boolean({
      char: 'y',
      description: 'do not ask for confirmation against a non-loopback Keystone',
    }),
    events: Flags.boolean({
      description: 'count revocation events before and after (GET /v3/OS-REVOKE/events)',
      default: true,
      allowNo: true,
    }),
    ...bulkFlags,
  }

  async run(): Promise<RevokeBulkResult> {
    const { flags } = await this.parse(RevokeBulk)
    checkBulkConcurrency(flags.concurrency)
    const progress = this.progress()
    const options = {
      count: flags.count,
      from: flags.from,
      ledger: flags.ledger,
      resume: flags.resume,
      skipBadLines: flags['skip-bad-lines'],
      countEvents: flags.events,
      settings: bulkSettings(flags),
      resolveAuth: () => resolveAuthOrLab({ flags: osFlagInputs(flags), env: process.env }),
    }
    const { result, exitCode } = await revokeBulkRun(options, {
      ...bulkRunCallbacks(progress, this),
      confirm: (url, what) => this.confirmKeystoneChange(url, what, flags.yes),
      info: (m) => this.info(m),
    }).finally(() => progress.done())
    if (exitCode !== undefined) this.setExitCode(exitCode)
    if (!this.jsonEnabled()) this.log(renderRevokeBulk(result))
    return result
  }
}
