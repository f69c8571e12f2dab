import * as nodeFs from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, dirname, join, resolve } from 'node:path'
import { FileSystemError, fsErrorHint, fsErrorText, UsageError } from '../errors.js'

/**
 * Output files (--out, --html, --hgrm, --junit, --markdown...), one rule for every command:
 * - checked before any work: the directory must exist and be writable, else exit 2 at once naming the path
 *   (idtool never creates output directories: Node's recursive mkdir loops forever on some paths, e.g. under /proc);
 * - written atomically: a temporary file in the same directory, then rename, so a full disk or a crash never
 *   leaves a partial or empty file;
 * - after a run, a file that still cannot be written does not lose the run: it goes to a fallback file in the
 *   temporary directory, or on stdout, and the command exits 1 (`saveOutputs`).
 */

/** The calls the writer makes, injectable so tests can fail them (ENOSPC half-way through a write). */
export type OutputFs = Pick<
  typeof nodeFs,
  'openSync' | 'writeSync' | 'fsyncSync' | 'closeSync' | 'renameSync' | 'unlinkSync' | 'fchmodSync'
>

let tmpSeq = 0
const tmpName = (path: string) =>
  join(dirname(path), `.${basename(path)}.${process.pid}.${++tmpSeq}.${Date.now().toString(36)}.tmp`)

/**
 * Check that `path` can be written, before any work: its directory exists, is a directory and is writable (a
 * file is created and removed there, which also catches read-only file systems and /proc), and the path is not
 * a directory. Throws a UsageError (exit 2) naming `label` (e.g. "--out") and the path.
 */
export function checkOutputPath(path: string, label: string): void {
  const abs = resolve(path)
  const dir = dirname(abs)
  const where = `${label} ${path}`
  if (path.endsWith('/')) {
    throw new UsageError(`${where} is a directory, not a file`, {
      hint: `give a file name, e.g. ${join(path, 'result.json')}.`,
    })
  }
  let dirStat: nodeFs.Stats
  try {
    dirStat = nodeFs.statSync(dir)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new UsageError(
      code === 'ENOENT'
        ? `${where}: the directory ${dir} does not exist`
        : `${where}: cannot use the directory ${dir}: ${fsErrorText(err)}`,
      {
        code: 'OUTPUT_PATH',
        hint:
          code === 'ENOENT'
            ? `idtool does not create output directories: create it first (mkdir -p ${dir}) or choose another path.`
            : fsErrorHint(err, abs),
      },
    )
  }
  if (!dirStat.isDirectory()) {
    throw new UsageError(`${where}: ${dir} is not a directory`, {
      code: 'OUTPUT_PATH',
      hint: 'choose a path in an existing directory.',
    })
  }
  try {
    if (nodeFs.statSync(abs).isDirectory()) {
      throw new UsageError(`${where} is a directory, not a file`, {
        code: 'OUTPUT_PATH',
        hint: `give a file name, e.g. ${join(path, 'result.json')}.`,
      })
    }
  } catch (err) {
    if (err instanceof UsageError) throw err
    // ENOENT: a new file, as expected
  }
  const probe = tmpName(abs)
  try {
    nodeFs.closeSync(nodeFs.openSync(probe, 'wx', 0o600))
    nodeFs.unlinkSync(probe)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new UsageError(`${where}: cannot write in ${dir}: ${fsErrorText(err)}`, {
      code: 'OUTPUT_PATH',
      hint:
        code === 'ENOENT'
          ? `files cannot be created in ${dir} (a virtual file system such as /proc?): choose another directory.`
          : fsErrorHint(err, abs),
    })
  }
  try {
    nodeFs.accessSync(abs, nodeFs.constants.W_OK)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new UsageError(`${where}: cannot write it: ${fsErrorText(err)}`, {
        code: 'OUTPUT_PATH',
        hint: fsErrorHint(err, abs),
      })
    }
  }
}

/** `checkOutputPath` for each given path; undefined entries (flags not given) are skipped. */
export function checkOutputPaths(paths: Array<[label: string, path: string | undefined]>): void {
  for (const [label, path] of paths) if (path !== undefined) checkOutputPath(path, label)
}

/**
 * Write `content` to `path` atomically: a temporary file beside it (same file system), flushed, then renamed
 * over `path`. On any failure the temporary file is removed, `path` is untouched (old content or absent), and
 * the file-system error is thrown as is.
 */
export function writeFileAtomic(
  path: string,
  content: string,
  opts: { mode?: number; fs?: Partial<OutputFs> } = {},
): void {
  const fs: OutputFs = { ...nodeFs, ...opts.fs }
  const mode = opts.mode ?? 0o644
  const tmp = tmpName(resolve(path))
  const fd = fs.openSync(tmp, 'wx', mode)
  let renamed = false
  try {
    try {
      fs.fchmodSync(fd, mode) // the umask may have narrowed it; secrets stay 0600
      const buf = Buffer.from(content)
      let off = 0
      while (off < buf.length) off += fs.writeSync(fd, buf, off, buf.length - off)
      fs.fsyncSync(fd)
    } finally {
      fs.closeSync(fd)
    }
    fs.renameSync(tmp, path)
    renamed = true
  } finally {
    if (!renamed) {
      try {
        fs.unlinkSync(tmp)
      } catch {
        /* already gone */
      }
    }
  }
}

/** One file a finished run writes. */
export interface OutputFile {
  path: string
  content: () => string
  /** 0600 for files holding secrets */
  mode?: number
}

export interface SaveOutputsOptions {
  /** --json: the result is already printed on stdout */
  json: boolean
  /** where error lines go (stderr) */
  stderr: (text: string) => void
  /** where a file's content goes when no fallback file can be written (stdout) */
  stdout: (text: string) => void
  /** directory of fallback files (os.tmpdir()) */
  fallbackDir?: string
  fs?: Partial<OutputFs>
}

/**
 * Save the files of a finished run without ever losing the run. Each file is written atomically; one that
 * cannot be written is reported (`Error: cannot write PATH: no space left on device (ENOSPC)`) and saved to
 * a fallback file in the temporary directory, named in the hint; when that fails too, its content is printed
 * on stdout (with --json the result is already there). Returns the paths that could not be written: the
 * caller exits 1 when there are any.
 */
export function saveOutputs(files: OutputFile[], opts: SaveOutputsOptions): string[] {
  const failed: string[] = []
  for (const f of files) {
    let content: string | undefined
    try {
      content = f.content()
      writeFileAtomic(f.path, content, { mode: f.mode, fs: opts.fs })
    } catch (err) {
      if (content === undefined) throw err // rendering failed: not a file-system problem
      failed.push(f.path)
      opts.stderr(`Error: cannot write ${f.path}: ${fsErrorText(err)}\n`)
      const fix = fsErrorHint(err, resolve(f.path))
      const fallback = join(
        opts.fallbackDir ?? tmpdir(),
        `idtool-unsaved-${process.pid}-${Date.now().toString(36)}-${basename(f.path)}`,
      )
      try {
        writeFileAtomic(fallback, content, { mode: 0o600, fs: opts.fs })
        opts.stderr(`Hint: saved to ${fallback} instead: ${fix}\n`)
      } catch {
        if (opts.json) {
          opts.stderr(
            `Hint: nor could it be saved in ${dirname(fallback)}; the result is in the JSON on stdout. ${fix}\n`,
          )
        } else {
          opts.stderr(
            `Hint: nor could it be saved in ${dirname(fallback)}; its content follows on stdout. ${fix}\n`,
          )
          opts.stdout(content.endsWith('\n') ? content : `${content}\n`)
        }
      }
    }
  }
  return failed
}

/** Write one output file atomically, or throw a FileSystemError (exit 1) naming it. For commands that measure nothing. */
export function writeOutputFileOrThrow(path: string, content: string, mode?: number): void {
  try {
    writeFileAtomic(path, content, { mode })
  } catch (err) {
    throw new FileSystemError('cannot write', path, err)
  }
}

/**
 * Create a directory and its missing parents one level at a time, at most `maxDepth` levels: never Node's
 * recursive mkdir, which loops forever (100% CPU, deaf to SIGTERM) on paths like /proc/x/y. For idtool's own
 * state directories only; output directories are never created.
 */
export function makeDirs(dir: string, mode = 0o700, maxDepth = 16): void {
  const missing: string[] = []
  let d = resolve(dir)
  for (let i = 0; i <= maxDepth; i++) {
    if (nodeFs.existsSync(d)) break
    if (i === maxDepth) {
      throw new UsageError(`cannot create ${dir}: more than ${maxDepth} missing directories`, {
        hint: 'create the parent directories first, or choose another path.',
      })
    }
    missing.unshift(d)
    const up = dirname(d)
    if (up === d) break
    d = up
  }
  for (const m of missing) {
    try {
      nodeFs.mkdirSync(m, { mode })
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue
      // the parent exists (made above or found) yet refuses: a virtual file system such as /proc, or no rights
      throw new FileSystemError('cannot create', m, err, {
        exitCode: 2,
        hint:
          (err as NodeJS.ErrnoException).code === 'ENOENT'
            ? `directories cannot be created in ${dirname(m)} (a virtual file system?): choose another path.`
            : fsErrorHint(err, m),
      })
    }
  }
}

/**
 * Append `buf` (one whole record line) to `fd`, opened for appending. If the write fails part-way (a full
 * disk), the bytes that made it are cut off again, so the file never holds a torn line followed by later
 * records; the error is rethrown as is.
 */
export function appendWhole(
  fd: number,
  buf: Buffer,
  fs: Partial<OutputFs> & Partial<Pick<typeof nodeFs, 'fstatSync' | 'ftruncateSync'>> = {},
): void {
  const f = { ...nodeFs, ...fs }
  let off = 0
  try {
    while (off < buf.length) off += f.writeSync(fd, buf, off, buf.length - off)
  } catch (err) {
    if (off > 0) {
      try {
        f.ftruncateSync(fd, Math.max(0, f.fstatSync(fd).size - off))
      } catch {
        /* the reader ignores a torn last line */
      }
    }
    throw err
  }
}
