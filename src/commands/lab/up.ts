import { BaseCommand } from '../../cli/base-command.js'
import { labDirFlag } from '../../cli/lab-flags.js'
import { Flags } from '../../cli/oclif.js'
import { labUp } from '../../lab/up.js'
import { renderLabUp } from '../../report/lab.js'
import type { LabServer } from '../../results/types.js'

export default class LabUp extends BaseCommand {
  static override summary = 'Bring up a real Keystone + haproxy + slapd stack on 127.0.0.1.'
  static override description =
    `Starts, on loopback only: Keystone (Debian python3-keystone, Fernet tokens) as N workers (ports 5001..) under uwsgi or, with --server apache, each under its own Apache httpd (own config file, pidfile and logs in the lab directory; /etc/apache2 is not used) with mod_wsgi in daemon mode, haproxy round-robin in front on :5000 adding an X-Backend header, a static 200 calibration frontend on :8080 and stats on :8404, slapd on :3890 with N inetOrgPerson users and groups, and a Keystone domain "ldapdom" backed by that directory ([ldap] page_size = 5, use_pool = true).

TLS, always on: a lab CA made with openssl (tls/ca.pem; key 0600), haproxy terminating TLS on :5443 (→ the workers), on :5444 requiring a client certificate signed by the lab CA (→ the workers), and a TLS calibration frontend on :8443; a client certificate for idtool (tls/client.crt, client.key). Certificates are reused while valid.

Writes clouds.yaml with the clouds "idtool-lab" (plain :5000 by default, :5443 with --tls, :5444 with --tls-client-certs), "idtool-lab-https", "idtool-lab-mtls" and "idtool-lab-appcred" (an application credential of the lab admin that lab up makes and reuses), and their secrets in secure.yaml beside it (0600; the openstack client reads it through OS_CLIENT_SECURE_FILE, see \`idtool lab env\`). Every password stays in 0600 files in the lab directory.

Idempotent: a healthy lab with the same settings is left alone (switching --tls only rewrites clouds.yaml); other settings restart it and rebuild only what changed. With --install, missing Debian packages are installed with apt (as root), with daemon starts denied so no package starts a service on a public interface.`

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
      description: 'Point the idtool-lab cloud at the TLS frontend (lab CA in clouds.yaml)',
      command: '<%= config.bin %> <%= command.id %> --tls',
    },
    {
      description: 'TLS with a client certificate, as behind a load balancer that requires one',
      command: '<%= config.bin %> <%= command.id %> --tls-client-certs',
    },
    {
      description:
        'Keystone under Apache httpd + mod_wsgi instead of uwsgi (needs apache2, libapache2-mod-wsgi-py3)',
      command: '<%= config.bin %> <%= command.id %> --server apache',
    },
    {
      description: 'MariaDB instead of SQLite, 10,000 LDAP users',
      command: '<%= config.bin %> <%= command.id %> --db mariadb --ldap-users 10000',
    },
  ]

  static override flags = {
    install: Flags.boolean({ description: 'install missing Debian packages with apt first (needs root)' }),
    workers: Flags.integer({
      description: 'Keystone worker instances behind haproxy (uwsgi or Apache, see --server)',
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
    server: Flags.string({
      description:
        'what serves each Keystone worker: uwsgi, or Apache httpd with mod_wsgi in daemon mode (1 process x 1 thread per worker with SQLite, 2 with MariaDB; as root, run by the system user idtool-lab)',
      options: ['uwsgi', 'apache'],
      default: 'uwsgi',
    }),
    'ldap-users': Flags.integer({
      description: 'inetOrgPerson users in the directory',
      default: 1000,
      min: 1,
      max: 200_000,
    }),
    tls: Flags.boolean({
      description:
        'the idtool-lab cloud uses https://127.0.0.1:5443 with the lab CA (haproxy serves TLS either way)',
    }),
    'tls-client-certs': Flags.boolean({
      description:
        'the idtool-lab cloud uses https://127.0.0.1:5444, which requires a client certificate (implies --tls)',
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
        server: flags.server as LabServer,
        ldapUsers: flags['ldap-users'],
        tls: flags['tls-client-certs'] ? 'client-certs' : flags.tls ? 'tls' : 'off',
      },
      log: (m) => this.info(m),
    })
    if (!this.jsonEnabled()) this.log(renderLabUp(status))
    return status
  }
}
