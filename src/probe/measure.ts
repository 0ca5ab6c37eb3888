// One-shot measurement for `glb probe`: N probes per target, then min/avg/median/max and loss per target.
import type {ProbeTarget, Prober, Sample} from './prober.js'

/** How to measure. */
export interface MeasureOptions {
  /** Probes per target. */
  count: number
  /** Time between the starts of two probes of one target (like ping -i). */
  intervalMs: number
  /** Probes in flight at once over all targets. Default 64. */
  maxInFlight?: number
  signal?: AbortSignal
  /** Called with every sample as it arrives (progress display). */
  onSample?: (target: ProbeTarget, sample: Sample) => void
}

/** The figures for one target. RTT figures cover successful probes only and are null when none was. */
export interface TargetSummary {
  target: string
  address: string
  port: number
  method: string
  sent: number
  received: number
  /** Percentage of probes that failed, 0-100. */
  lossPct: number
  minMs: number | null
  avgMs: number | null
  medianMs: number | null
  maxMs: number | null
  /** Failure reasons and how often each was seen ("timeout after 1000 ms": 3). */
  errors: Record<string, number>
}

/** Probes every target `count` times (targets in parallel, each target's probes in sequence). */
export async function measure(targets: ProbeTarget[], prober: Prober, opts: MeasureOptions): Promise<TargetSummary[]> {
  const slots = new Semaphore(Math.max(1, opts.maxInFlight ?? 64))
  const one = async (target: ProbeTarget): Promise<TargetSummary> => {
    const samples: Sample[] = []
    for (let i = 0; i < opts.count && !opts.signal?.aborted; i++) {
      await slots.acquire()
      // Timed from the actual start (after waiting for a slot), so two probes of a target are never
      // closer than the interval.
      const began = performance.now()
      let sample: Sample
      try {
        sample = await prober.probe(target, opts.signal)
      } finally {
        slots.release()
      }
      if (opts.signal?.aborted) break
      samples.push(sample)
      opts.onSample?.(target, sample)
      if (i + 1 < opts.count) await sleepUntil(began + opts.intervalMs, opts.signal)
    }
    return summarize(target, prober.method, samples)
  }
  return Promise.all(targets.map(one))
}

/** Summary figures for one target's samples. */
export function summarize(target: ProbeTarget, method: string, samples: Sample[]): TargetSummary {
  const rtts = samples.filter((s) => s.ok && s.rttMs !== undefined).map((s) => s.rttMs!)
  rtts.sort((a, b) => a - b)
  const errors: Record<string, number> = {}
  for (const s of samples) if (!s.ok) errors[s.error ?? 'failed'] = (errors[s.error ?? 'failed'] ?? 0) + 1
  const received = samples.filter((s) => s.ok).length
  const n = rtts.length
  const round = (x: number): number => Math.round(x * 1000) / 1000
  return {
    target: target.id,
    address: target.address,
    port: target.port,
    method,
    sent: samples.length,
    received,
    lossPct: samples.length ? round((100 * (samples.length - received)) / samples.length) : 100,
    minMs: n ? rtts[0]! : null,
    avgMs: n ? round(rtts.reduce((a, b) => a + b, 0) / n) : null,
    medianMs: n ? round(n % 2 ? rtts[(n - 1) / 2]! : (rtts[n / 2 - 1]! + rtts[n / 2]!) / 2) : null,
    maxMs: n ? rtts[n - 1]! : null,
    errors,
  }
}

/**
 * Sleeps until performance.now() reaches `until`. A timer counts from the event loop's cached clock, which lags
 * the real one by however long the current tick has run, so one setTimeout can wake early: check and sleep again.
 */
async function sleepUntil(until: number, signal?: AbortSignal): Promise<void> {
  for (let left = until - performance.now(); left > 0 && !signal?.aborted; left = until - performance.now()) {
    await sleep(Math.ceil(left), signal)
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0 || signal?.aborted) return Promise.resolve()
  return new Promise((resolve) => {
    const t = setTimeout(done, ms)
    function done(): void {
      clearTimeout(t)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    signal?.addEventListener('abort', done, {once: true})
  })
}

/** A counting semaphore: bounds the probes in flight. */
class Semaphore {
  private waiters: Array<() => void> = []
  constructor(private free: number) {}
  acquire(): Promise<void> {
    if (this.free > 0) {
      this.free--
      return Promise.resolve()
    }
    return new Promise((resolve) => this.waiters.push(resolve))
  }
  release(): void {
    const next = this.waiters.shift()
    if (next) next()
    else this.free++
  }
}
