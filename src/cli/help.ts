import type { Command } from '@oclif/core/command'
import { Help } from '@oclif/core/help'
import { EXIT_CODE_HELP, PLUGIN_EXIT_CODE_HELP } from '../exit-codes.js'

/**
 * oclif help with the exit-code table appended to every command's help: idtool's own, or for the monitoring
 * checks (`idtool check ...`) the Monitoring Plugins table they follow instead.
 */
export default class IdtoolHelp extends Help {
  override formatCommand(command: Command.Loadable): string {
    const table = /^check[: ]/.test(command.id) ? PLUGIN_EXIT_CODE_HELP : EXIT_CODE_HELP
    return `${super.formatCommand(command)}\n\n${table}`
  }
}
