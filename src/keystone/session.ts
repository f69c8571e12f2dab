import type { Dispatcher } from 'undici'
import type { AuthSettings } from '../config/auth.js'
import { ConfigError } from '../errors.js'
import { createKeystoneDispatcher, type IssuedToken, KeystoneClient, type Scope } from './client.js'

/** A Keystone client with an authenticated caller token, built from resolved settings. */
export interface KeystoneSession {
  client: KeystoneClient
  dispatcher: Dispatcher
  settings: AuthSettings
  caller: IssuedToken
  scope?: Scope
  close(): Promise<void>
}

/** The project scope the settings ask for, if a project is named. */
export function scopeOf(settings: AuthSettings): Scope | undefined {
  return settings.projectName
    ? { projectName: settings.projectName, projectDomainName: settings.projectDomainName }
    : undefined
}

/** Authenticate with the password method and return a ready session. */
export async function openSession(
  settings: AuthSettings,
  opts: {
    timeoutMs?: number
    dispatcher?: Dispatcher
    connections?: number
    signal?: AbortSignal
    backendHeader?: string
  } = {},
): Promise<KeystoneSession> {
  if (!settings.username) {
    throw new ConfigError('no user name: set --os-username, OS_USERNAME or username in clouds.yaml', {
      hint: 'for the local lab: eval "$(idtool lab env)"',
    })
  }
  if (!settings.password) {
    throw new ConfigError('no password: set OS_PASSWORD, --os-password-file or password in clouds.yaml', {
      hint: 'idtool never takes a password as a command-line value.',
    })
  }
  const own = !opts.dispatcher
  const dispatcher =
    opts.dispatcher ?? createKeystoneDispatcher({ cacert: settings.cacert, connections: opts.connections })
  const client = new KeystoneClient({
    authUrl: settings.authUrl,
    dispatcher,
    timeoutMs: opts.timeoutMs,
    signal: opts.signal,
    backendHeader: opts.backendHeader,
  })
  const scope = scopeOf(settings)
  try {
    const caller = await client.issueTokenPassword(
      { username: settings.username, password: settings.password, userDomainName: settings.userDomainName },
      scope,
    )
    return {
      client,
      dispatcher,
      settings,
      caller,
      scope,
      close: async () => {
        if (own) await dispatcher.close()
      },
    }
  } catch (err) {
    if (own) await dispatcher.close().catch(() => {})
    throw err
  }
}
