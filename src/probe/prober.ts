// The contract every probe method implements: measure one target once, return a Sample, never throw for
// a network outcome (timeouts, refusals and bad replies are failed Samples; a throw means a bug).

/** What a prober measures. `id` is the stable key the scheduler and the health table use. */
export interface ProbeTarget {
  /** Stable key; defaults to `address:port` where targets are built by `probeTarget()`. */
  id: string
  /** The content server's address (IPv4 or IPv6 literal). */
  address: string
  port: number
  /** HTTP Host header and TLS SNI (http/https), or the query name (dns). */
  host?: string
  /** HTTP path (http/https). */
  path?: string
  /** Source address to send from; overrides the prober's own `localAddress`. */
  localAddress?: string
}

/** One measurement. `rttMs` is present whenever a reply arrived, even a reply judged bad. */
export interface Sample {
  ok: boolean
  rttMs?: number
  error?: string
  /** Wall-clock time (ms since epoch) the probe finished. */
  at: number
}

/** A probe method. `signal` aborts the probe (the scheduler uses it when a target is removed). */
export interface Prober {
  readonly method: ProbeMethod
  probe(target: ProbeTarget, signal?: AbortSignal): Promise<Sample>
}

/** A probe started by `CallbackProber.start`: `cancel()` ends it at once and its callback is never called. */
export interface ProbeRun {
  cancel(): void
}

/**
 * A prober that can also run without a promise or an AbortSignal per probe (the scheduler's fast path):
 * `done` is called exactly once, possibly before `start` returns, unless the run is cancelled first.
 * A throw from `start` is a bug, as a rejected `probe()` is.
 */
export interface CallbackProber extends Prober {
  start(target: ProbeTarget, done: (sample: Sample) => void): ProbeRun
}

/** True when `p` offers the callback fast path. */
export function isCallbackProber(p: Prober): p is CallbackProber {
  return typeof (p as Partial<CallbackProber>).start === 'function'
}

export type ProbeMethod = 'tcp' | 'http' | 'https' | 'dns' | 'udp'

/** Options every prober takes. */
export interface ProberOptions {
  /** Give up after this long; the Sample is a failure "timeout after N ms". Default 1000. */
  timeoutMs?: number
  /** Source address to bind (the DNS-LB's own address, so the content side sees the POP). */
  localAddress?: string
}

/** Builds a ProbeTarget with the default id `address:port` (`[v6]:port` for IPv6). */
export function probeTarget(address: string, port: number, extra: Partial<ProbeTarget> = {}): ProbeTarget {
  const id = address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`
  return {id, address, port, ...extra}
}
