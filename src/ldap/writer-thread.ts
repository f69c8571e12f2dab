import { parentPort, workerData } from 'node:worker_threads'
import { IdtoolError } from '../errors.js'
import {
  DirectoryWriters,
  type DirectoryWritersOptions,
  type WriterReply,
  type WriterRequest,
} from './writers.js'

/**
 * The writers' own thread (ldap/writers.ts ThreadWriters): DirectoryWriters on an event loop of its own, so
 * that parsing search pages in the main thread does not delay the writes and inflate their latency. Asked
 * by messages ({@link WriterRequest}), answers by messages ({@link WriterReply}).
 */

const port = parentPort
if (!port) throw new Error('writer-thread.ts runs as a worker thread')

const send = (reply: WriterReply) => port.postMessage(reply)
const opts = workerData as Omit<DirectoryWritersOptions, 'onWarn' | 'clock' | 'connect'>
let baselineStop: AbortController | undefined

function errorReply(id: number, err: unknown): WriterReply {
  const e = err instanceof IdtoolError ? err : undefined
  return {
    id,
    error: {
      message: ((err as Error)?.message ?? String(err)).split('\n')[0] ?? 'error',
      code: e?.code,
      exitCode: e?.exitCode,
      hint: e?.hint,
    },
  }
}

const opened = DirectoryWriters.open({ ...opts, onWarn: (warn) => send({ warn }) })
// a failed open is answered to the first request (open); it is not an unhandled rejection meanwhile
opened.catch(() => {})

port.on('message', async (req: WriterRequest) => {
  try {
    const writers = await opened
    switch (req.op) {
      case 'open':
        break
      case 'baseline':
        baselineStop = new AbortController()
        await writers.baseline(baselineStop.signal, (done, elapsedMs) =>
          send({ progress: { done, elapsedMs } }),
        )
        break
      case 'abortBaseline':
        baselineStop?.abort()
        break
      case 'startDuring':
        writers.startDuring()
        break
      case 'stopDuring':
        await writers.stopDuring()
        break
      case 'finish':
        await writers.finish()
        send({ id: req.id, result: writers.result() })
        return
    }
    send({ id: req.id })
  } catch (err) {
    send(errorReply(req.id, err))
  }
})
