// writeStateFile: atomic, queued, event-loop-friendly writes of a state file (secret files get mode 0600).
//
// Crash safety: the JSON goes to a temp file in the same directory, is fsynced, then renamed over the
// target, and the directory is fsynced; a crash at any moment leaves the old complete file or the new one
// (plus, at worst, a stale temp file, which the next write of that file in any process removes).
// We do the steps write-file-atomic does ourselves because it takes the whole content as one buffer, and a
// 60 MB mapping file must be produced in chunks (json-chunks.ts) with the event loop free in between.
import {randomBytes} from 'node:crypto'
import {open, readdir, rename, stat, unlink} from 'node:fs/promises'
import type {FileHandle} from 'node:fs/promises'
import {basename, dirname, join, resolve} from 'node:path'
import {fileIdentity, knownVersions} from './file-identity.js'
import type {FileIdentity} from './file-identity.js'
import {jsonChunks} from './json-chunks.js'
import {StateError} from './state-error.js'

export interface WriteStateOptions {
  /** File mode for the new file. Default: the existing file's mode, else 0o666 less the umask. */
  mode?: number
  /** The file holds secrets (TSIG keys): created 0600 from the first byte, whatever `mode` says. */
  secret?: boolean
  /** JSON indentation; default 2. Use 0 for very large machine-written files. */
  indent?: number
}

/** What a completed write put on disk. */
export interface WriteStateResult {
  bytes: number
  /** The version written; watchers in this process skip it (see watchStateFile). */
  identity: FileIdentity
}

interface Job {
  file: string
  data: unknown
  opts: WriteStateOptions
  waiters: Array<{resolve(r: WriteStateResult): void; reject(e: unknown): void}>
}

const queues = new Map<string, {pending?: Job}>()
let tempCounter = 0

/**
 * Atomically replaces `file` with `data` as JSON. Writes to one path are serialised: a write waits for the
 * one in progress, and several pending writes coalesce into one write of the newest data (all their promises
 * resolve with that write's result). `data` is serialised when its write starts and must not be mutated
 * until the promise resolves. Rejects with a StateError (code 'write'); the old file is then untouched.
 */
export function writeStateFile(file: string, data: unknown, opts: WriteStateOptions = {}): Promise<WriteStateResult> {
  const key = resolve(file)
  return new Promise((resolvePromise, reject) => {
    let q = queues.get(key)
    const waiter = {resolve: resolvePromise, reject}
    if (q?.pending) {
      // Coalesce: the newest data wins; a file once marked secret stays secret.
      const p = q.pending
      p.opts = {...opts, secret: Boolean(opts.secret || p.opts.secret)}
      p.data = data
      p.file = file
      p.waiters.push(waiter)
      return
    }
    const job: Job = {file, data, opts, waiters: [waiter]}
    if (q) {
      q.pending = job // a write is running; drain() picks this up next
      return
    }
    q = {pending: job}
    queues.set(key, q)
    void drain(key, q)
  })
}

async function drain(key: string, q: {pending?: Job}): Promise<void> {
  while (q.pending) {
    const job = q.pending
    q.pending = undefined
    try {
      const r = await writeAtomically(job.file, key, job.data, job.opts)
      for (const w of job.waiters) w.resolve(r)
    } catch (err) {
      for (const w of job.waiters) w.reject(err)
    }
  }
  queues.delete(key)
}

async function writeAtomically(file: string, abs: string, data: unknown, opts: WriteStateOptions): Promise<WriteStateResult> {
  const dir = dirname(abs)
  const base = basename(abs)
  await removeStaleTemps(dir, base)
  const mode = opts.secret ? 0o600 : (opts.mode ?? (await existingMode(abs)))
  const tmp = join(dir, `.${base}.tmp-${process.pid}-${++tempCounter}-${randomBytes(3).toString('hex')}`)
  let fh: FileHandle | undefined
  let bytes = 0
  try {
    // 'wx': never follow or reuse an existing path. A secret file is 0600 from its first byte.
    fh = await open(tmp, 'wx', mode ?? 0o666)
    if (mode !== undefined) await fh.chmod(mode) // the umask may have removed bits the caller asked for
    for (const chunk of jsonChunks(data, opts.indent ?? 2)) {
      const buf = Buffer.from(chunk, 'utf8')
      await writeAll(fh, buf)
      bytes += buf.length
    }
    // Data must be on disk before the rename is: otherwise a power cut can leave the new name on an empty file.
    await fh.sync()
    const identity = fileIdentity(await fh.stat({bigint: true}))
    await fh.close()
    fh = undefined
    // Known before the rename, so a watcher woken by the rename already recognises this version as ours.
    const previous = knownVersions.written.get(abs)
    knownVersions.written.set(abs, identity)
    try {
      await rename(tmp, abs)
    } catch (err) {
      if (previous === undefined) knownVersions.written.delete(abs)
      else knownVersions.written.set(abs, previous)
      throw err
    }
    await syncDirectory(dir)
    return {bytes, identity}
  } catch (err) {
    await fh?.close().catch(() => {})
    await unlink(tmp).catch(() => {})
    throw writeError(file, err)
  }
}

async function writeAll(fh: FileHandle, buf: Buffer): Promise<void> {
  let off = 0
  while (off < buf.length) {
    const {bytesWritten} = await fh.write(buf, off, buf.length - off)
    off += bytesWritten
  }
}

async function existingMode(abs: string): Promise<number | undefined> {
  try {
    return (await stat(abs)).mode & 0o7777
  } catch {
    return undefined
  }
}

// The rename itself is only durable once the directory entry is; not every platform can open a directory.
async function syncDirectory(dir: string): Promise<void> {
  let dh: FileHandle | undefined
  try {
    dh = await open(dir, 'r')
    await dh.sync()
  } catch {
    // Best effort (e.g. Windows, some network file systems): the rename is still atomic.
  } finally {
    await dh?.close().catch(() => {})
  }
}

// A SIGKILL between open and rename leaves ".NAME.tmp-PID-..." behind. Remove those whose writer is gone.
// Done before every write (a readdir of a small state directory costs far less than the write), so a
// long-running role also cleans up after a CLI command that was killed mid-write.
async function removeStaleTemps(dir: string, base: string): Promise<void> {
  const prefix = `.${base}.tmp-`
  let names: string[]
  try {
    names = await readdir(dir)
  } catch {
    return
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue
    const pid = Number(name.slice(prefix.length).split('-')[0])
    if (!Number.isInteger(pid) || pid === process.pid || isAlive(pid)) continue
    await unlink(join(dir, name)).catch(() => {})
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

const WRITE_REASONS: Record<string, string> = {
  ENOENT: 'the directory does not exist',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'read-only file system',
  EISDIR: 'is a directory',
}

function writeError(file: string, err: unknown): StateError {
  if (err instanceof TypeError) {
    return new StateError(`${file}: cannot write: the data is not JSON (${err.message.split('\n')[0]})`, 'write', file, '', '', undefined, undefined, {cause: err})
  }
  const code = (err as NodeJS.ErrnoException)?.code ?? ''
  const reason = WRITE_REASONS[code] ?? (code || String((err as Error)?.message ?? err))
  return new StateError(`${file}: cannot write: ${reason}; the previous version is unchanged`, 'write', file, '', '', undefined, undefined, {cause: err})
}
