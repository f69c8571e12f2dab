import type { Command, Config } from '@oclif/core'
import type { FlagSpecs } from '../scenario/flags.js'
import { unknownCommandError } from '../scenario/flags.js'
import type { Scenario } from '../scenario/loader.js'

/** A command of this idtool, found by a scenario's `command:` ("bench validate"). */
export interface TargetCommand {
  id: string
  loadable: Command.Loadable
  commandClass: Command.Class
  flags: FlagSpecs
}

/** The flags a loaded command class accepts (its own and the base flags), as FlagSpecs. */
export function flagSpecsOf(commandClass: { flags?: unknown; baseFlags?: unknown }): FlagSpecs {
  return {
    ...(commandClass.baseFlags as FlagSpecs | undefined),
    ...(commandClass.flags as FlagSpecs | undefined),
  }
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

/** Quote an argument for display as a shell command line. */
export function shellQuote(arg: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg
  return `'${arg.replace(/'/g, `'\\''`)}'`
}
