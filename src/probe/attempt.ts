// One probe attempt that settles exactly once: a reply, a timeout, an abort, or a network error.
import type {Sample} from './prober.js'

/** What a probe body reports: the outcome without the timestamp (added here). */
export type Outcome = Omit<Sample, 'at'>

/** Hands the probe body what it needs to finish and to clean up after itself. */
export interface AttemptControl {
  /** Settles the attempt; later calls are ignored (a late reply after a timeout changes nothing). */
  settle(outcome: Outcome): void
  /** Registers a cleanup (close a socket, clear a listener); all run once, right after settling. */
  onCleanup(fn: () => void): void
  /** Milliseconds since `start()` was called (or since the attempt began if never called). */
  elapsed(): number
  /** True once settled: callbacks that fire late (bind, connect) must then do nothing. */
  readonly done: boolean
  /** Marks the moment the measured exchange begins (after socket set-up that is not the server's time). */
  start(): void
}

/**
 * Runs `body` under a deadline and an optional outer abort signal. A synchronous throw from `body` is a
 * bug and rejects; network trouble must come back through `settle` as a failed outcome.
 */
export function attempt(timeoutMs: number, signal: AbortSignal | undefined, body: (c: AttemptControl) => void): Promise<Sample> {
  return new Promise<Sample>((resolve, reject) => {
    let done = false
    let t0 = performance.now()
    const cleanups: Array<() => void> = []
    const runCleanups = (): void => {
      for (const fn of cleanups.splice(0)) {
        try {
          fn()
        } catch {
          // a cleanup that fails (socket already closed) must not hide the outcome
        }
      }
    }
    const settle = (outcome: Outcome): void => {
      if (done) return
      done = true
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
      runCleanups()
      resolve({...outcome, at: Date.now()})
    }
    const onAbort = (): void => settle({ok: false, error: 'aborted'})
    const timer = setTimeout(() => settle({ok: false, error: `timeout after ${timeoutMs} ms`}), timeoutMs)
    if (signal?.aborted) return onAbort()
    signal?.addEventListener('abort', onAbort, {once: true})
    const control: AttemptControl = {
      settle,
      get done() {
        return done
      },
      onCleanup: (fn) => (done ? fn() : void cleanups.push(fn)),
      elapsed: () => performance.now() - t0,
      start: () => void (t0 = performance.now()),
    }
    try {
      body(control)
    } catch (err) {
      done = true
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
      runCleanups()
      reject(err)
    }
  })
}

/** Rounds a measured RTT to microseconds: finer digits are timer noise and make JSON noisy. */
export function roundMs(ms: number): number {
  return Math.round(ms * 1000) / 1000
}
