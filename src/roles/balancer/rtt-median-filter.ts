// A median-of-three filter on each server's probe RTTs before they reach the health table, so one slow probe
// (a busy host, a lost segment) cannot move the choice while a real change of path shows in two probes.

/** The part of a Sample the filter reads and rewrites. */
interface RttSample {
  ok: boolean
  rttMs?: number
}

/**
 * Keeps the last three successful RTTs per server and replaces a sample's RTT by their median. Why here and
 * not only in the smoothing: an EWMA that follows a changed path within two probes (α ≥ 0.5) also passes half
 * of a single outlier, which with a few ms of hysteresis margin flaps the answer; a median drops a lone
 * outlier entirely and costs one probe of delay for a genuine change. Failures pass unchanged (they carry
 * no RTT, and up/down counting must see each one).
 */
export class RttMedianFilter {
  private readonly recent = new Map<string, number[]>()

  /** The sample with its RTT replaced by the median of this server's last three successful RTTs. */
  filter<S extends RttSample>(address: string, sample: S): S {
    if (!sample.ok || sample.rttMs === undefined) return sample
    let list = this.recent.get(address)
    if (!list) this.recent.set(address, (list = []))
    list.push(sample.rttMs)
    if (list.length > 3) list.shift()
    return {...sample, rttMs: median(list)}
  }

  /** Starts a server's window from a known RTT (a persisted SRTT), counted twice so one new outlier is outvoted. */
  seed(address: string, rttMs: number): void {
    this.recent.set(address, [rttMs, rttMs])
  }

  delete(address: string): void {
    this.recent.delete(address)
  }
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}
