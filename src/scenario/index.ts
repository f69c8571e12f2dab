export { flagSpecsOf, loadTargetCommand, shellQuote, type TargetCommand } from '../cli/scenario-command.js'
export {
  applyScenarioFlag,
  assertScenarioCommand,
  type FlagSpec,
  type FlagSpecs,
  loadScenarioForCommand,
  mergeScenarioFlags,
  resolveSettings,
  scenarioKind,
  settingsToArgv,
  settingsToFlagValues,
} from './flags.js'
export {
  applySets,
  COMMAND_KINDS,
  formatIssue,
  loadScenario,
  parseScenario,
  type Scenario,
  ScenarioError,
  type ScenarioIssue,
  type Setting,
} from './loader.js'
