// watchStateFile: reload a state file on SIGHUP or when it changes on disk, keeping the last good state.
//
// Changes are seen three ways: fs.watch on the *directory* (an atomic rename replaces the inode, so a watch
// on the file itself would go deaf after the first replace), a slow stat poll (fs.watch misses events on
// some network and container file systems), and SIGHUP (the operator's "reload now"). All three funnel into
// one serialised check that compares the file's identity (device, inode, size, mtime) with the version last
// examined, so a burst of events costs one reload, an unchanged file costs a stat, and a version this
// process wrote itself (writeStateFile) is skipped without being read.
import {statSync, watch} from 'node:fs'
import type {FSWatcher} from 'node:fs'
import {stat} from 'node:fs/promises'
import {basename, dirname, resolve} from 'node:path'
import type {z} from 'zod'
import {fileIdentity, knownVersions} from './file-identity.js'
import type {FileIdentity} from './file-identity.js'
import {readStateFile} from './load-state-file.js'
import {StateError} from './state-error.js'

/** Why a reload happened. */
export type ReloadReason = 'signal' | 'change' | 'poll' | 'manual'

export interface WatchHandlers<T> {
  /** A new valid version was loaded. Never called with an invalid state. May be async; reloads wait for it. */
  onReload(state: T, info: {reason: ReloadReason}): void | Promise<void>
  /**
   * A new version is invalid or unreadable (a StateError, one line), or onReload threw. The caller keeps
   * its last good state. Each bad version is reported once, not on every poll.
   */
  onError(err: Error): void
}

export interface WatchOptions {
  /** Quiet time after the last change event before reloading; default 100 ms. */
  debounceMs?: number
  /** Stat poll interval as a fallback to fs.watch; default 1000 ms; 0 turns polling off. */
  pollMs?: number
  /** Signal that forces a reload even of an unchanged file; default 'SIGHUP'; null for none. */
  signal?: NodeJS.Signals | null
  /** Skip versions written by this process's writeStateFile; default true. A signal reloads them anyway. */
  ignoreOwnWrites?: boolean
}

/** A running watch. */
export interface StateWatcher {
  /** Stops watching: no handler is called after this returns. */
  close(): void
  /** Reloads now, as SIGHUP does; resolves when the reload and its handler are done. */
  reload(): Promise<void>
}

const MAX_DEBOUNCE_WAIT_MS = 1000
/** Times one check reads again a file that moved on while it was read, before it queues another check. */
const MAX_REREADS = 3
const MISSING = 'missing'

/**
 * Watches `file` and calls `onReload` with each new valid version. Call it after loading the file with
 * loadStateFile: the watch starts from the version that load returned, so a change in between is not lost.
 * Its timers and handles are unref'd: a watch alone does not keep the process alive.
 */
export function watchStateFile<T>(file: string, schema: z.ZodType<T>, handlers: WatchHandlers<T>, opts: WatchOptions = {}): StateWatcher {
  const abs = resolve(file)
  const base = basename(abs)
  const debounceMs = opts.debounceMs ?? 100
  const pollMs = opts.pollMs ?? 1000
  const signal = opts.signal === undefined ? 'SIGHUP' : opts.signal
  const ignoreOwnWrites = opts.ignoreOwnWrites ?? true

  let closed = false
  // The version last examined, good or bad: a bad version is reported once, then waited out.
  let seen: FileIdentity | undefined = knownVersions.loaded.get(abs) ?? currentIdentity(abs)

  // Checks run one at a time; at most one more waits, and further requests merge into it.
  let chain: Promise<void> = Promise.resolve()
  let queued: {reason: ReloadReason; force: boolean; done: Promise<void>} | null = null
  function check(reason: ReloadReason, force: boolean): Promise<void> {
    if (closed) return Promise.resolve()
    if (queued) {
      if (force && !queued.force) {
        queued.force = true
        queued.reason = reason
      }
      return queued.done
    }
    const job = {reason, force, done: Promise.resolve()}
    queued = job
    job.done = chain = chain.then(() => {
      queued = null
      return examine(job.reason, job.force)
    })
    return job.done
  }

  async function examine(reason: ReloadReason, force: boolean, rereads = MAX_REREADS): Promise<void> {
    if (closed) return
    let id: FileIdentity
    try {
      id = fileIdentity(await stat(abs, {bigint: true}))
    } catch (err) {
      if (seen !== MISSING || force) {
        seen = MISSING
        report(readFailure(file, err))
      }
      return
    }
    if (!force && id === seen) return
    if (!force && ignoreOwnWrites && knownVersions.written.get(abs) === id) {
      seen = id
      return
    }
    let loaded
    try {
      loaded = await readStateFile(file, schema)
    } catch (err) {
      // An editor that rewrites in place can be caught half-way; if the file moved on, look again instead,
      // within this check: a signal's forced reload stays forced (a queued unforced check could skip the next
      // version as seen or as our own), and reload() resolves only once that version is loaded. A file that
      // keeps changing is left to a queued check after a few tries, so other requests get their turn.
      const now = currentIdentity(abs)
      if (now !== id && !closed) {
        if (rereads > 0) return examine(reason, force, rereads - 1)
        void check(reason, force)
        return
      }
      seen = id
      report(err as Error)
      return
    }
    seen = loaded.identity
    if (closed) return
    try {
      await handlers.onReload(loaded.value, {reason})
    } catch (err) {
      report(err instanceof Error ? err : new Error(String(err)))
    }
  }

  function report(err: Error): void {
    if (closed) return
    try {
      handlers.onError(err)
    } catch {
      // A throwing error handler must not stop the watch.
    }
  }

  // Debounce change events: reload after `debounceMs` of quiet, or at least once a second during a storm.
  let timer: NodeJS.Timeout | undefined
  let firstEventAt = 0
  function changed(): void {
    if (closed) return
    const now = Date.now()
    if (!timer) firstEventAt = now
    clearTimeout(timer)
    const wait = Math.max(0, Math.min(debounceMs, firstEventAt + MAX_DEBOUNCE_WAIT_MS - now))
    timer = setTimeout(() => {
      timer = undefined
      void check('change', false)
    }, wait)
    timer.unref()
  }

  let watcher: FSWatcher | undefined
  try {
    watcher = watch(dirname(abs), {persistent: false}, (_event, name) => {
      if (name === null || name === base) changed()
    })
    watcher.on('error', () => {
      // The directory went away or the watch broke: the poll below still notices changes.
      watcher?.close()
      watcher = undefined
    })
  } catch {
    watcher = undefined
  }

  const poller = pollMs > 0 ? setInterval(() => void check('poll', false), pollMs) : undefined
  poller?.unref()

  const onSignal = (): void => void check('signal', true)
  if (signal) process.on(signal, onSignal)

  return {
    close() {
      if (closed) return
      closed = true
      watcher?.close()
      clearTimeout(timer)
      clearInterval(poller)
      if (signal) process.off(signal, onSignal)
    },
    reload() {
      return check('manual', true)
    },
  }
}

function currentIdentity(abs: string): FileIdentity | undefined {
  try {
    return fileIdentity(statSync(abs, {bigint: true}))
  } catch {
    return undefined
  }
}

function readFailure(file: string, err: unknown): StateError {
  const code = (err as NodeJS.ErrnoException)?.code
  const reason = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (code ?? 'unknown error')
  return new StateError(`${file}: cannot read: ${reason}`, 'read', file, '', '', undefined, undefined, {cause: err})
}
