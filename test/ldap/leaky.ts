import { type ChildProcess, spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

export const LEAKY_FIXTURE = fileURLToPath(new URL('../fixtures/leaky-server.mjs', import.meta.url))

export interface Leaky {
  port: number
  pid: number
  child: ChildProcess
  stop(): Promise<void>
}

/** Start the leaky fixture (test/fixtures/leaky-server.mjs) and wait for its {"port", "pid"} line. */
export async function startLeaky(args: string[]): Promise<Leaky> {
  // --jitless: on Node 24 the JIT's code space grows in steps for minutes (a 4 MiB step after ~550
  // requests), noise that would drown the known leak; without a JIT the fixture's memory is exact
  const child = spawn(process.execPath, ['--jitless', LEAKY_FIXTURE, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const line = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! })
    rl.once('line', (l) => {
      rl.close()
      resolve(l)
    })
    child.once('exit', (code) => reject(new Error(`leaky fixture exited with ${code}`)))
  })
  const { port, pid } = JSON.parse(line) as { port: number; pid: number }
  return {
    port,
    pid,
    child,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = new Promise((r) => child.once('exit', r))
      child.kill('SIGTERM')
      await exited
    },
  }
}
