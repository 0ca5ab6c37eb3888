// The probe scheduler: every target probed once per interval (with jitter), one in flight per target,
// at most `maxInFlight` overall, driven by one timer over a due-queue so 10,000 targets cost little.
import {DeadlineQueue} from './deadlines.js'
import type {Expiring} from './deadlines.js'
import {DueQueue} from './due-queue.js'
import {isCallbackProber} from './prober.js'
import type {ProbeRun, ProbeTarget, Prober, Sample} from './prober.js'

/** How the scheduler runs. */
export interface SchedulerOptions {
  /** The prober for every target, or a function choosing one per target (e.g. by a method field). */
  prober: Prober | ((target: ProbeTarget) => Prober)
  /** Time between the starts of two probes of the same target. */
  intervalMs: number
  /** Each interval is scaled by a uniform factor in [1 - jitter, 1 + jitter]. Default 0.1 (±10 %). */
  jitter?: number
  /** Probes in flight at once, over all targets. Default 256. */
  maxInFlight?: number
  /** Source address for every probe whose target does not name its own. */
  localAddress?: string
  /** Where samples go. Samples of removed (or replaced) targets are discarded, never delivered. */
  sink: (target: ProbeTarget, sample: Sample) => void
  /**
   * A bug, not a measurement: the prober threw or never settled, or the sink threw. The target keeps
   * being scheduled; nothing is sent to the sink for that probe (a bug says nothing about the server).
   */
  onError?: (target: ProbeTarget, err: Error, where: 'prober' | 'sink') => void
  /** First probe of a new target: 'spread' (random point in the first interval, avoids a burst) or 'now'. */
  firstProbe?: 'spread' | 'now'
  /** A probe still pending after this long is reported as a prober bug and its slot freed. Default 30 s. */
  stuckAfterMs?: number
  /** Random source in [0, 1), for tests. */
  random?: () => number
}

/** Counters for metrics and tests. */
export interface SchedulerStats {
  started: number
  completed: number
  discarded: number
  errors: number
  maxInFlightSeen: number
}

interface Entry {
  target: ProbeTarget
  prober: Prober
  removed: boolean
  /** The probe in flight, if any. */
  run?: Run
  /** Set while a replaced entry with the same id is still in flight: start only after it settles. */
  waiting: boolean
}

/** One probe in flight: finished exactly once (a sample, a bug, stuck, or cancelled). */
class Run implements Expiring {
  done = false
  cancelled = false
  /** The callback prober's handle, or the AbortController of a promise prober. */
  handle: ProbeRun | AbortController | undefined
  constructor(readonly entry: Entry, readonly startedAt: number, private readonly scheduler: ProbeScheduler) {}

  /** Stuck: the stuck-after deadline passed before the prober settled. */
  expire(): void {
    this.scheduler.stuck(this)
  }
}

/** Probes a changing set of targets forever (until `stop()`), emitting each Sample to the sink. */
export class ProbeScheduler {
  private readonly entries = new Map<string, Entry>()
  private readonly due = new DueQueue<Entry>()
  private ready: Entry[] = []
  private readyHead = 0
  /** Ids with a probe in flight (possibly of an entry already removed or replaced). */
  private readonly running = new Set<string>()
  private timer: NodeJS.Timeout | undefined
  private timerAt = Infinity
  private started = false
  private pumping = false
  private inFlightCount = 0
  /** Resolves once nothing is in flight (what `stop()` awaits), while someone waits. */
  private idle: {promise: Promise<void>; resolve: () => void} | undefined
  /** One deadline per probe in flight: stuckAfterMs after it started. */
  private readonly stuckAfter: DeadlineQueue
  /** Timer wake-ups are rounded up to this (ms): lateness of at most 0.1 % of the interval, far fewer timers. */
  private readonly quantum: number
  readonly stats: SchedulerStats = {started: 0, completed: 0, discarded: 0, errors: 0, maxInFlightSeen: 0}
  private readonly jitter: number
  private readonly maxInFlight: number
  private readonly random: () => number

  constructor(private readonly opts: SchedulerOptions) {
    if (!(opts.intervalMs > 0)) throw new Error(`scheduler: intervalMs must be > 0 (got ${opts.intervalMs})`)
    this.jitter = Math.min(Math.max(opts.jitter ?? 0.1, 0), 0.9)
    this.maxInFlight = Math.max(1, Math.floor(opts.maxInFlight ?? 256))
    this.random = opts.random ?? Math.random
    this.stuckAfter = new DeadlineQueue(opts.stuckAfterMs ?? 30_000)
    this.quantum = Math.min(10, Math.max(1, opts.intervalMs / 1000))
  }

  /** Probes in flight right now. */
  get inFlight(): number {
    return this.inFlightCount
  }

  /** Number of targets being probed. */
  get size(): number {
    return this.entries.size
  }

  has(id: string): boolean {
    return this.entries.has(id)
  }

  /** The targets being probed. */
  targets(): ProbeTarget[] {
    return [...this.entries.values()].map((e) => e.target)
  }

  /** Adds a target, or replaces the one with the same id (its in-flight result is then discarded). */
  add(target: ProbeTarget): void {
    const old = this.entries.get(target.id)
    if (old) this.retire(old)
    const prober = typeof this.opts.prober === 'function' ? this.opts.prober(target) : this.opts.prober
    const withSource = target.localAddress || !this.opts.localAddress ? target : {...target, localAddress: this.opts.localAddress}
    const entry: Entry = {target: withSource, prober, removed: false, waiting: false}
    this.entries.set(target.id, entry)
    const first = this.opts.firstProbe === 'now' ? 0 : this.random() * this.opts.intervalMs
    this.enqueue(entry, performance.now() + first)
  }

  /** Stops probing a target at once; a probe in flight is aborted and its result discarded. */
  remove(id: string): boolean {
    const e = this.entries.get(id)
    if (!e) return false
    this.entries.delete(id)
    this.retire(e)
    return true
  }

  /** Starts the timer. Targets added before start are probed from now on. */
  start(): void {
    if (this.started) return
    this.started = true
    this.arm()
    this.pump()
  }

  /** Stops scheduling, aborts probes in flight and resolves when they have all settled. */
  async stop(): Promise<void> {
    this.started = false
    clearTimeout(this.timer)
    this.timer = undefined
    this.timerAt = Infinity
    for (const e of this.entries.values()) if (e.run) this.cancel(e.run)
    if (this.inFlightCount === 0) return
    if (!this.idle) {
      let resolve!: () => void
      const promise = new Promise<void>((r) => (resolve = r))
      this.idle = {promise, resolve}
    }
    await this.idle.promise
  }

  private retire(e: Entry): void {
    e.removed = true
    if (e.run) this.cancel(e.run)
  }

  /** A callback probe ends here and now; a promise probe is aborted and ends when it settles. */
  private cancel(run: Run): void {
    if (run.done || run.cancelled) return
    run.cancelled = true
    const h = run.handle
    if (h instanceof AbortController) h.abort()
    else {
      h?.cancel()
      this.finish(run)
    }
  }

  private enqueue(e: Entry, at: number): void {
    this.due.push(at, e)
    if (this.started && at < this.timerAt) this.arm()
  }

  /** Points the one timer at the earliest due entry (rounded up to the quantum). */
  private arm(): void {
    const next = this.due.peekDue()
    if (next === undefined || !this.started) return
    const at = Math.ceil(next / this.quantum) * this.quantum
    if (this.timer && at >= this.timerAt) return
    clearTimeout(this.timer)
    this.timerAt = at
    this.timer = setTimeout(() => this.onTimer(), Math.max(0, at - performance.now()))
  }

  private onTimer(): void {
    this.timer = undefined
    this.timerAt = Infinity
    // 1 ms of slack: timers fire on whole milliseconds, and waking again for a fraction is wasted work.
    const now = performance.now() + 1
    for (let d = this.due.peekDue(); d !== undefined && d <= now; d = this.due.peekDue()) {
      const e = this.due.pop()!
      if (!e.removed) this.ready.push(e)
    }
    this.pump()
    this.arm()
  }

  /** Starts ready probes while there is room. Not re-entered: a probe that ends at once only frees a slot. */
  private pump(): void {
    if (!this.started || this.pumping) return
    this.pumping = true
    try {
      while (this.inFlightCount < this.maxInFlight && this.readyHead < this.ready.length) {
        const e = this.ready[this.readyHead++]!
        if (e.removed) continue
        if (this.running.has(e.target.id)) {
          // The previous entry under this id is still settling: one in flight per target, always.
          e.waiting = true
          continue
        }
        this.launch(e)
      }
    } finally {
      this.pumping = false
    }
    if (this.readyHead > 1024 && this.readyHead * 2 > this.ready.length) {
      this.ready = this.ready.slice(this.readyHead)
      this.readyHead = 0
    }
  }

  private launch(e: Entry): void {
    const run = new Run(e, performance.now(), this)
    e.run = run
    this.inFlightCount++
    this.stats.started++
    if (this.inFlightCount > this.stats.maxInFlightSeen) this.stats.maxInFlightSeen = this.inFlightCount
    this.running.add(e.target.id)
    this.stuckAfter.add(run)
    const p = e.prober
    if (isCallbackProber(p)) {
      // The fast path: no promise, AbortSignal or timer per probe.
      try {
        const handle = p.start(e.target, (sample) => this.finish(run, sample))
        if (!run.done) run.handle = handle
      } catch (err) {
        this.finish(run, undefined, err)
      }
      return
    }
    const abort = new AbortController()
    run.handle = abort
    Promise.resolve()
      .then(() => p.probe(e.target, abort.signal))
      .then(
        (sample) => this.finish(run, sample),
        (err) => this.finish(run, undefined, err),
      )
  }

  /** (Internal, for Run.) A probe not settled within stuckAfterMs: a bug; the slot is freed. */
  stuck(run: Run): void {
    if (run.done) return
    const h = run.handle
    const ms = this.stuckAfter.ms
    this.finish(run, undefined, new Error(`prober ${run.entry.prober.method} did not settle within ${ms} ms`))
    // Whatever the prober still holds, it may let go of now.
    if (h instanceof AbortController) h.abort()
    else h?.cancel()
  }

  /** Ends a probe once: delivers its sample (unless removed or cancelled) or reports its bug, then schedules the next. */
  private finish(run: Run, sample?: Sample, err?: unknown): void {
    if (run.done) return
    run.done = true
    this.stuckAfter.finished()
    const e = run.entry
    if (err !== undefined) {
      if (!e.removed) this.report(e, err, 'prober')
    } else if (e.removed || run.cancelled || sample === undefined) {
      this.stats.discarded++
    } else {
      this.stats.completed++
      try {
        this.opts.sink(e.target, sample)
      } catch (sinkErr) {
        this.report(e, sinkErr, 'sink')
      }
    }
    const id = e.target.id
    if (e.run === run) e.run = undefined
    this.inFlightCount--
    this.running.delete(id)
    const current = this.entries.get(id)
    if (current === e && !e.removed) {
      // Next start is one (jittered) interval after this one started, never in the past.
      const interval = this.opts.intervalMs * (1 + this.jitter * (2 * this.random() - 1))
      this.enqueue(e, Math.max(run.startedAt + interval, performance.now()))
    } else if (current?.waiting) {
      current.waiting = false
      this.ready.push(current)
    }
    if (this.inFlightCount === 0 && this.idle) {
      this.idle.resolve()
      this.idle = undefined
    }
    this.pump()
  }

  private report(e: Entry, err: unknown, where: 'prober' | 'sink'): void {
    this.stats.errors++
    const error = err instanceof Error ? err : new Error(String(err))
    try {
      this.opts.onError?.(e.target, error, where)
    } catch {
      // an error handler that throws must not stop the scheduler either
    }
  }
}
