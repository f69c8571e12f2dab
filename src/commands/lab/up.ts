import { Flags } from '@oclif/core'
import { BaseCommand } from '../../base-command.js'
import { labUp } from '../../lab/index.js'
import { labDirFlag } from '../../lab-flags.js'
import { renderLabStatus } from '../../report/lab.js'

export default class LabUp extends BaseCommand {
  static override summary = 'Bring up a real Keystone + haproxy + slapd stack on 127.0.0.1.'
  static override description =
    `Starts, on loopback only: Keystone (Debian python3-keystone, Fernet tokens) as N uwsgi workers (ports 5001..), haproxy round-robin in front on :5000 adding an X-Backend header, a static 200 calibration frontend on :8080 and stats on :8404, slapd on :3890 with N inetOrgPerson users and groups, and a Keystone domain "ldapdom" backed by that directory ([ldap] page_size = 5, use_pool = true). Writes a clouds.yaml with the cloud "idtool-lab" (0600) and keeps every password in 0600 files in the lab directory.

Idempotent: a healthy lab with the same settings is left alone; other settings restart it and rebuild only what changed. With --install, missing Debian packages are installed with apt (as root), with daemon starts denied so no package starts a service on a public interface.`

  static override examples = [
    {
      description: 'Install the packages and start the lab',
      command: '<%= config.bin %> <%= command.id %> --install',
    },
    {
      description: 'Three workers, Keystone caching off',
      command: '<%= config.bin %> <%= command.id %> --workers 3 --no-cache',
    },
    {
      description: 'MariaDB instead of SQLite, 10,000 LDAP users',
      command: '<%= config.bin %> <%= command.id %> --db mariadb --ldap-users 10000',
    },
  ]

  static override flags = {
    install: Flags.boolean({ description: 'install missing Debian packages with apt first (needs root)' }),
    workers: Flags.integer({
      description: 'Keystone uwsgi workers behind haproxy',
      default: 2,
      min: 1,
      max: 16,
    }),
    cache: Flags.boolean({
      description: 'Keystone [cache] with dogpile.cache.memory',
      default: true,
      allowNo: true,
    }),
    db: Flags.string({ description: 'Keystone database', options: ['sqlite', 'mariadb'], default: 'sqlite' }),
    'ldap-users': Flags.integer({
      description: 'inetOrgPerson users in the directory',
      default: 1000,
      min: 1,
      max: 200_000,
    }),
    dir: labDirFlag,
  }

  async run() {
    const { flags } = await this.parse(LabUp)
    const status = await labUp({
      dir: flags.dir,
      install: flags.install,
      spec: {
        workers: flags.workers,
        cache: flags.cache,
        db: flags.db as 'sqlite' | 'mariadb',
        ldapUsers: flags['ldap-users'],
      },
      log: (m) => this.info(m),
    })
    if (!this.jsonEnabled()) {
      this.log(renderLabStatus(status))
      this.log('')
      this.log(
        `${status.alreadyUp ? 'Lab was already up' : `Lab up in ${(status.timingsMs.total! / 1000).toFixed(1)} s`}. Use it with:`,
      )
      this.log(`  export OS_CLIENT_CONFIG_FILE=${status.cloudsYaml} OS_CLOUD=${status.cloud}`)
      this.log('  (or: eval "$(idtool lab env)")')
    }
    return status
  }
}
