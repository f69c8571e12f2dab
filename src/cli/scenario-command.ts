import type { Command } from '@oclif/core/command'
import type { Config } from '@oclif/core/config'
import { type FlagSpecs, flagSpecsOf, unknownCommandError } from '../scenario/flags.js'
import type { Scenario } from '../scenario/loader.js'
import type { CommandOutcome } from '../scenario/run.js'

/** A command of this idtool, found by a scenario's `command:` ("bench validate"). */
export interface TargetCommand {
  id: string
  loadable: Command.Loadable
  commandClass: Command.Class
  flags: FlagSpecs
}

/** Find and load the scenario's command from the oclif config; unknown commands are reported at their line. */
export async function loadTargetCommand(config: Config, scenario: Scenario): Promise<TargetCommand> {
  const id = scenario.command.trim().split(/\s+/).join(':')
  const loadable = config.findCommand(id)
  if (!loadable) {
    const known = config.commandIDs.map((c) => c.replace(/:/g, ' ')).sort()
    throw unknownCommandError(scenario, known)
  }
  const commandClass = await loadable.load()
  return { id, loadable, commandClass, flags: flagSpecsOf(commandClass) }
}

type CommandCtor = new (argv: string[], config: Config) => Command

/** The same command, but its success JSON is not printed (its caller prints its own result). */
function withoutSuccessJson(loadable: Command.Loadable, commandClass: Command.Class): Command.Loadable {
  const Base = commandClass as unknown as CommandCtor
  abstract class Quiet extends Base {
    override logJson(json: unknown): void {
      if (json !== null && typeof json === 'object' && 'error' in json) super.logJson(json)
    }
  }
  return { ...loadable, load: async () => Quiet as unknown as Command.Class }
}

/**
 * Run the target command in this process with `argv`: what its run() returned and the exit code it set.
 * `quietJson`: under --json, print only its error JSON (the caller prints the one JSON document).
 */
export async function runTargetCommand(
  config: Config,
  target: TargetCommand,
  argv: string[],
  opts: { quietJson?: boolean } = {},
): Promise<CommandOutcome> {
  const loadable = opts.quietJson ? withoutSuccessJson(target.loadable, target.commandClass) : target.loadable
  const returned = await config.runCommand(target.id, argv, loadable)
  const exitCode = typeof process.exitCode === 'number' ? process.exitCode : Number(process.exitCode ?? 0)
  return { returned, exitCode }
}
