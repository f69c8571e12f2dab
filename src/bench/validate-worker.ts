import { parentPort, workerData } from 'node:worker_threads'
import { IdtoolError } from '../errors.js'
import { runValidateBench } from './validate.js'
import type { ParentMessage, WorkerJob, WorkerMessage } from './workers.js'

/**
 * The entry of one `bench validate --workers N` thread (bench/workers.ts): runs its shard with its own lanes
 * and histograms, posts its progress and, at the end, its `bench.validate` result (histograms base64).
 * A `stop` message ends the run early; the partial result is still posted.
 */

const port = parentPort
if (!port) throw new Error('bench/validate-worker.js runs only as a worker thread')
const job = workerData as WorkerJob
const stop = new AbortController()
port.on('message', (m: ParentMessage) => {
  if (m?.type === 'stop') stop.abort()
})
const post = (m: WorkerMessage) => port.postMessage(m)
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
