import { type MessagePort, parentPort } from 'node:worker_threads'
import { IdtoolError } from '../errors.js'
import { runValidateBench } from './validate.js'
import type { ParentMessage, WorkerJob, WorkerMessage } from './workers.js'

/**
 * The entry of one `bench validate --workers N` thread (bench/workers.ts): runs its shard with its own lanes
 * and histograms, posts its progress and, at the end, its `bench.validate` result (histograms base64).
 * A `stop` message ends the run early; the partial result is still posted.
 */

if (!parentPort) throw new Error('bench/validate-worker.js runs only as a worker thread')
const port: MessagePort = parentPort
const stop = new AbortController()
const post = (m: WorkerMessage) => port.postMessage(m)

async function run(job: WorkerJob): Promise<void> {
  try {
    const result = await runValidateBench(job.options, {
      ...job.deps,
      signal: stop.signal,
      onProgress: (progress) => post({ type: 'progress', progress }),
    })
    post({ type: 'result', result })
  } catch (err) {
    const e = err as Error
    post({
      type: 'error',
      message: e?.message ?? String(err),
      name: e?.name ?? 'Error',
      ...(err instanceof IdtoolError
        ? { code: err.code, exitCode: err.exitCode, ...(err.hint ? { hint: err.hint } : {}) }
        : {}),
    })
  }
  port.close()
}

port.on('message', (m: ParentMessage) => {
  if (m?.type === 'stop') stop.abort()
  else if (m?.type === 'run') void run(m.job)
})
post({ type: 'ready' })
