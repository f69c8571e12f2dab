// The arrows of src/ (README "Layout"). `npm run lint` runs this; a violation fails CI.
// src/errors.ts and src/exit-codes.ts are the kernel: typed errors and the one exit-code table, which
// every part may throw or name; they import nothing of idtool but each other.
const KERNEL = '^src/(errors|exit-codes)[.]ts$'
/** "from this part, only to these parts (and the kernel, and itself)" */
const onlyTo = (name, part, allowed, comment) => ({
  name,
  comment,
  severity: 'error',
  from: { path: `^src/${part}/` },
  to: { path: '^src/', pathNot: [KERNEL, `^src/(${[part, ...allowed].join('|')})/`] },
})
/** "from this part, never to these parts" */
const notTo = (name, part, forbidden, comment) => ({
  name,
  comment,
  severity: 'error',
  from: { path: `^src/${part}/` },
  to: { path: `^src/(${forbidden.join('|')})/` },
})
module.exports = {
  forbidden: [
    {
      name: 'commands-never-import-commands',
      comment: 'A command is a thin shell over the library; shared code lives in the library or cli/.',
      severity: 'error',
      from: { path: '^src/commands/' },
      to: { path: '^src/commands/' },
    },
    {
      name: 'only-commands-and-cli-know-oclif',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(commands|cli)/' },
      to: { path: '(^|node_modules/)@oclif/' },
    },
    {
      name: 'commands-reach-oclif-through-cli-oclif',
      comment:
        'Start-up: src/cli/oclif.ts loads oclif with require(), which Node 20 does faster than an ESM import of CommonJS (bench/startup.mjs).',
      severity: 'error',
      from: { path: '^src/commands/' },
      to: { path: '(^|node_modules/)@oclif/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'library-never-imports-cli',
      comment: 'The library takes plain options and callbacks; cli/ and commands/ sit on top of it.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(commands|cli)/' },
      to: { path: '^src/(commands|cli)/' },
    },
    {
      name: 'cli-never-imports-commands',
      severity: 'error',
      from: { path: '^src/cli/' },
      to: { path: '^src/commands/' },
    },
    onlyTo(
      'report-reads-results-and-metrics',
      'report',
      ['results', 'metrics'],
      'Renderers are pure functions of a result.',
    ),
    onlyTo(
      'metrics-is-pure',
      'metrics',
      ['results'],
      'Histograms, statistics, merge and thresholds know no engine.',
    ),
    onlyTo(
      'results-is-the-bottom',
      'results',
      [],
      'Result types, schemas and files: everything reads them, they read nothing.',
    ),
    notTo(
      'load-knows-no-keystone',
      'load',
      ['keystone', 'lab', 'ldap', 'bench', 'scenario', 'report'],
      'The load engine drives requests it is given; Keystone and the lab come in from bench/.',
    ),
    notTo(
      'keystone-knows-no-lab',
      'keystone',
      ['lab', 'bench', 'ldap', 'check', 'scenario', 'report'],
      'The Keystone client and bulk calls serve any cloud; the lab (which uses them) comes in from above.',
    ),
    notTo(
      'config-knows-no-lab',
      'config',
      ['lab', 'load', 'bench', 'ldap', 'report', 'scenario'],
      'Resolution is pure; the lab default cloud comes in as an input.',
    ),
    {
      name: 'kernel-imports-nothing',
      severity: 'error',
      from: { path: KERNEL },
      to: { path: '^src/', pathNot: KERNEL },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // oclif's package.json "exports" subpaths (@oclif/core/flags) stay unresolved ("@oclif/core/flags", type
    // unknown), so the oclif rules match the bare name as well as a node_modules path.
    exclude: { path: '^(dist|node_modules)/' },
  },
}
