/** URL helpers of the connection settings, in a module of their own so that light commands can use them. */

/** The base `.../v3` URL for a Keystone auth URL given with or without the version suffix. */
export function keystoneV3Base(authUrl: string): string {
  const u = authUrl.replace(/\/+$/, '')
  if (/\/v3$/.test(u)) return u
  if (/\/v2\.0$/.test(u)) return u.replace(/\/v2\.0$/, '/v3')
  return `${u}/v3`
}

/** Whether a URL points at the loopback range (127.0.0.0/8, ::1, localhost). */
export function isLoopbackUrl(url: string): boolean {
  try {
    const h = new URL(url).hostname.replace(/^\[|\]$/g, '')
    return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h)
  } catch {
    return false
  }
}
