import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, openSync } from 'node:fs'
import { dirname, join } from 'node:path'
import type { LabPaths } from './layout.js'
import { run, waitFor } from './proc.js'

/** MariaDB for the lab: socket only (--skip-networking), so nothing listens on any interface. */
export async function startMariadb(p: LabPaths): Promise<void> {
  mkdirSync(p.mariadbDir, { recursive: true })
  mkdirSync(dirname(p.mariadbSock), { recursive: true, mode: 0o700 })
  if (!existsSync(join(p.mariadbData, 'mysql'))) {
    mkdirSync(p.mariadbData, { recursive: true })
    await run(
      '/usr/bin/mariadb-install-db',
      [
        '--no-defaults',
        `--datadir=${p.mariadbData}`,
        '--user=root',
        '--skip-test-db',
        '--auth-root-authentication-method=socket',
      ],
      { timeoutMs: 180_000 },
    )
  }
  const log = openSync(join(p.mariadbDir, 'mariadbd.log'), 'a')
  const child = spawn(
    '/usr/sbin/mariadbd',
    [
      '--no-defaults',
      `--datadir=${p.mariadbData}`,
      `--socket=${p.mariadbSock}`,
      `--pid-file=${p.mariadbPid}`,
      '--skip-networking',
      '--user=root',
      '--max-recursive-iterations=1000000',
    ],
    { detached: true, stdio: ['ignore', log, log] },
  )
  child.unref()
  await waitFor(
    'mariadbd',
    async () => existsSync(p.mariadbSock),
    60_000,
    `see ${join(p.mariadbDir, 'mariadbd.log')}`,
  )
}

export async function createKeystoneDatabase(p: LabPaths, password: string): Promise<void> {
  const sql = [
    'CREATE DATABASE IF NOT EXISTS keystone;',
    `CREATE USER IF NOT EXISTS 'keystone'@'localhost' IDENTIFIED BY '${password}';`,
    `ALTER USER 'keystone'@'localhost' IDENTIFIED BY '${password}';`,
    "GRANT ALL PRIVILEGES ON keystone.* TO 'keystone'@'localhost';",
  ].join(' ')
  // the statements carry the password: stdin, never the command line
  await run('/usr/bin/mariadb', [`--socket=${p.mariadbSock}`, '-uroot', '--batch'], { input: `${sql}\n` })
}
