import { toIdtoolError } from '../errors.js'
import { PluginExitCode } from '../exit-codes.js'
import { renderPluginOutput } from '../report/plugin.js'
import type { CheckResult } from '../results/check.js'
import { BaseCommand } from './base-command.js'
import { Errors, Flags } from './oclif.js'

/** The flags every monitoring check takes. */
export const checkFlags = {
  warning: Flags.string({
    char: 'w',
    description: 'WARNING range (Monitoring Plugins syntax: 10, 10:, ~:10, 10:20, @10:20)',
  }),
  critical: Flags.string({
    char: 'c',
    description: 'CRITICAL range (same syntax)',
  }),
  timeout: Flags.integer({
    char: 't',
    description: 'seconds before the check gives up with UNKNOWN',
    default: 10,
    min: 1,
    max: 3600,
  }),
}

/**
 * The base of `idtool check ...`: monitoring plugins as Nagios, Icinga and Sensu run them. One status line on
 * stdout (`IDTOOL NAME STATUS - text | perfdata`), then detail lines; the Monitoring Plugins exit codes (0 OK,
 * 1 WARNING, 2 CRITICAL, 3 UNKNOWN) instead of idtool's own; anything that prevented the measurement, a bad
 * flag included, is UNKNOWN. `--json` prints the CheckResult instead of the line.
 */
export abstract class CheckCommand extends BaseCommand {
  /** the service name of the status line */
  static checkName = 'CHECK'
  static checkKind: CheckResult['kind'] = 'check.validate'

  private timedOutAfter?: number
  private timers: NodeJS.Timeout[] = []

  /**
   * An AbortSignal that fires after `seconds`; past one more second, whatever still hangs is cut short: the
   * UNKNOWN line is written and the process exits 3.
   */
  protected timeoutSignal(seconds: number): AbortSignal {
    const ac = new AbortController()
    this.timers.push(
      setTimeout(() => {
        this.timedOutAfter = seconds
        ac.abort(new Error('timeout'))
      }, seconds * 1000),
    )
    const hard = setTimeout(
      () => {
        this.timedOutAfter = seconds
        this.emitUnknown(`timed out after ${seconds} s`)
        process.exit(PluginExitCode.UNKNOWN)
      },
      (seconds + 1) * 1000,
    )
    hard.unref()
    this.timers.push(hard)
    return ac.signal
  }

  /** Print the check's outcome and set its exit code; returns the result for --json. */
  protected report(result: CheckResult): CheckResult {
    if (!this.jsonEnabled()) process.stdout.write(`${renderPluginOutput(result)}\n`)
    process.exitCode = result.exitCode
    return result
  }

  private unknownResult(message: string, hint?: string): CheckResult {
    const ctor = this.constructor as typeof CheckCommand
    return {
      kind: ctor.checkKind,
      version: 1,
      name: ctor.checkName,
      status: 'UNKNOWN',
      exitCode: PluginExitCode.UNKNOWN,
      summary: message,
      perfdata: [],
      details: hint ? [hint] : [],
      measuredAt: new Date().toISOString(),
    }
  }

  private emitUnknown(message: string, hint?: string): void {
    const r = this.unknownResult(message, hint)
    if (this.jsonEnabled()) process.stdout.write(`${JSON.stringify(r, null, 2)}\n`)
    else process.stdout.write(`${renderPluginOutput(r)}\n`)
  }

  override async finally(err: Error | undefined): Promise<void> {
    for (const t of this.timers) clearTimeout(t)
    return super.finally(err)
  }

  override async catch(err: Error & { exitCode?: number }): Promise<unknown> {
    if (err instanceof Errors.ExitError) throw err
    const e = toIdtoolError(err)
    const message = this.timedOutAfter !== undefined ? `timed out after ${this.timedOutAfter} s` : e.message
    this.emitUnknown(message, this.timedOutAfter !== undefined ? undefined : e.hint)
    process.exitCode = PluginExitCode.UNKNOWN
    return undefined
  }
}
