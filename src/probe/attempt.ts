// One probe attempt that settles exactly once: a reply, a timeout, a cancel, or a network error; and the base
// every built-in prober shares (a callback `start` for the scheduler, a promise `probe` for everyone else).
import {DeadlineQueue} from './deadlines.js'
import type {Expiring} from './deadlines.js'
import type {CallbackProber, ProbeMethod, ProbeRun, ProbeTarget, ProberOptions, Sample} from './prober.js'

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

/** One attempt: its deadline sits in the prober's DeadlineQueue (no timer, promise or signal of its own). */
class Attempt implements AttemptControl, Expiring, ProbeRun {
  done = false
  private t0 = performance.now()
  private cleanups: Array<() => void> | undefined

  constructor(private readonly deadlines: DeadlineQueue, private callback: ((sample: Sample) => void) | undefined) {
    deadlines.add(this)
  }

  settle(outcome: Outcome): void {
    const callback = this.callback
    if (!this.finish()) return
    callback!({...outcome, at: Date.now()})
  }

  expire(): void {
    this.settle({ok: false, error: `timeout after ${this.deadlines.ms} ms`})
  }

  cancel(): void {
    this.finish()
  }

  onCleanup(fn: () => void): void {
    if (this.done) fn()
    else (this.cleanups ??= []).push(fn)
  }

  elapsed(): number {
    return performance.now() - this.t0
  }

  start(): void {
    this.t0 = performance.now()
  }

  /** Marks the attempt done and runs the cleanups; false if it already was. */
  private finish(): boolean {
    if (this.done) return false
    this.done = true
    this.callback = undefined
    this.deadlines.finished()
    const cleanups = this.cleanups
    this.cleanups = undefined
    if (cleanups) {
      for (const fn of cleanups) {
        try {
          fn()
        } catch {
          // a cleanup that fails (socket already closed) must not hide the outcome
        }
      }
    }
    return true
  }
}

/**
 * Runs `body` under the queue's deadline; `done` gets the sample unless the returned run is cancelled first.
 * A synchronous throw from `body` is a bug: the attempt is cancelled and the error thrown on.
 */
export function begin(deadlines: DeadlineQueue, body: (c: AttemptControl) => void, done: (sample: Sample) => void): ProbeRun {
  const a = new Attempt(deadlines, done)
  try {
    body(a)
  } catch (err) {
    a.cancel()
    throw err
  }
  return a
}

/** The promise form of a callback probe: an abort of `signal` cancels it and settles as "aborted". */
export function promised(signal: AbortSignal | undefined, start: (done: (sample: Sample) => void) => ProbeRun): Promise<Sample> {
  return new Promise<Sample>((resolve, reject) => {
    if (signal?.aborted) return resolve({ok: false, error: 'aborted', at: Date.now()})
    let settled = false
    let run: ProbeRun | undefined
    const onAbort = (): void => {
      settled = true
      run?.cancel()
      resolve({ok: false, error: 'aborted', at: Date.now()})
    }
    try {
      run = start((sample) => {
        if (settled) return
        settled = true
        signal?.removeEventListener('abort', onAbort)
        resolve(sample)
      })
    } catch (err) {
      reject(err)
      return
    }
    if (!settled) signal?.addEventListener('abort', onAbort, {once: true})
  })
}

/** What every built-in prober shares: one deadline queue (its timeout), `probe()` as the promise form of `start()`. */
export abstract class BaseProber implements CallbackProber {
  abstract readonly method: ProbeMethod
  protected readonly deadlines: DeadlineQueue

  constructor(opts: ProberOptions) {
    this.deadlines = new DeadlineQueue(opts.timeoutMs ?? 1000)
  }

  abstract start(target: ProbeTarget, done: (sample: Sample) => void): ProbeRun

  probe(target: ProbeTarget, signal?: AbortSignal): Promise<Sample> {
    return promised(signal, (done) => this.start(target, done))
  }
}

/** Rounds a measured RTT to microseconds: finer digits are timer noise and make JSON noisy. */
export function roundMs(ms: number): number {
  return Math.round(ms * 1000) / 1000
}
