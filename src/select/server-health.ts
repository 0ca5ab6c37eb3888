// One content server's health as a DNS-LB sees it: smoothed RTT and its spread, recent loss, and up/down
// with thresholds. Probers report raw samples; this turns them into what selection reads (gdnsd's split).
import type {Sample} from '../probe/prober.js'

/**
 * Tuning of ServerHealth. Defaults follow RFC 6298 §2 (TCP's retransmission timer) for the smoothing and
 * gdnsd's monitor thresholds for availability.
 */
export interface HealthOptions {
  /** SRTT gain α (RFC 6298: 1/8). Larger follows changes faster and jitters more. */
  alpha?: number
  /** RTTVAR gain β (RFC 6298: 1/4). */
  beta?: number
  /** Loss is the failed fraction of the last `lossWindow` samples. Default 10. */
  lossWindow?: number
  /** Down after this many consecutive failures. Default 3. */
  downAfter?: number
  /** Up again (after being down) after this many consecutive successes. Default 2. */
  upAfter?: number
  /** An SRTT move counts as a change once it exceeds max(changeMs, changeRelative × SRTT). Default 1 ms. */
  changeMs?: number
  /** See `changeMs`. Default 0.05 (5 %). */
  changeRelative?: number
}

/** The serialised form of one ServerHealth (see HealthTable.toJSON). */
export interface ServerHealthJSON {
  lastRttMs: number | null
  srttMs: number | null
  rttvarMs: number | null
  /** Recent outcomes, oldest first: "1" success, "0" failure. */
  window: string
  failStreak: number
  okStreak: number
  up: boolean | null
  samples: number
  lastAt: number | null
  lastError: string | null
}

/**
 * Smoothed RTT, spread, loss and availability of one server.
 *
 * Smoothing (RFC 6298 §2.2-2.3), on each successful sample R:
 *   first sample:  SRTT = R,  RTTVAR = R / 2
 *   then:          RTTVAR = (1 - β) · RTTVAR + β · |SRTT - R|
 *                  SRTT   = (1 - α) · SRTT   + α · R          with α = 1/8, β = 1/4
 * RTTVAR is reported as the spread. Failed samples never move SRTT (a timeout has no RTT, and a fast
 * error page is not the service's latency); they count as loss and toward `downAfter`.
 *
 * Availability: `up` is null until the first verdict. From null, one success makes it up (a fresh start
 * is optimistic) and `downAfter` consecutive failures make it down; from up, `downAfter` consecutive
 * failures make it down; from down, `upAfter` consecutive successes make it up again.
 */
export class ServerHealth {
  lastRttMs: number | null = null
  srttMs: number | null = null
  rttvarMs: number | null = null
  failStreak = 0
  okStreak = 0
  up: boolean | null = null
  samples = 0
  lastAt: number | null = null
  lastError: string | null = null
  private window: boolean[] = []
  // The SRTT and loss at the last change reported to the caller: slow drift is reported once it adds up.
  private reportedSrtt: number | null = null
  private reportedLoss = 0

  constructor(private readonly opts: HealthOptions = {}) {}

  /** Failed fraction (0-1) of the last `lossWindow` samples; null before any sample. */
  get loss(): number | null {
    if (this.window.length === 0) return null
    return this.window.filter((ok) => !ok).length / this.window.length
  }

  /** Takes one sample; returns true when something selection reads changed (up/down, SRTT or loss moved). */
  ingest(sample: Sample): boolean {
    const o = this.opts
    const wasUp = this.up
    this.samples++
    this.lastAt = sample.at
    this.window.push(sample.ok)
    const size = Math.max(1, o.lossWindow ?? 10)
    if (this.window.length > size) this.window.splice(0, this.window.length - size)
    if (sample.ok && sample.rttMs !== undefined) {
      const r = sample.rttMs
      this.lastRttMs = r
      if (this.srttMs === null || this.rttvarMs === null) {
        this.srttMs = r
        this.rttvarMs = r / 2
      } else {
        const alpha = o.alpha ?? 1 / 8
        const beta = o.beta ?? 1 / 4
        this.rttvarMs = (1 - beta) * this.rttvarMs + beta * Math.abs(this.srttMs - r)
        this.srttMs = (1 - alpha) * this.srttMs + alpha * r
      }
    }
    if (sample.ok) {
      this.okStreak++
      this.failStreak = 0
      this.lastError = null
      if (this.up === null || (this.up === false && this.okStreak >= (o.upAfter ?? 2))) this.up = true
    } else {
      this.failStreak++
      this.okStreak = 0
      this.lastError = sample.error ?? 'failed'
      if (this.up !== false && this.failStreak >= (o.downAfter ?? 3)) this.up = false
    }
    return this.noteChange(wasUp)
  }

  private noteChange(wasUp: boolean | null): boolean {
    let changed = wasUp !== this.up
    if (this.srttMs !== null) {
      if (this.reportedSrtt === null) changed = true
      else {
        const threshold = Math.max(this.opts.changeMs ?? 1, (this.opts.changeRelative ?? 0.05) * this.reportedSrtt)
        if (Math.abs(this.srttMs - this.reportedSrtt) > threshold) changed = true
      }
    }
    const loss = this.loss ?? 0
    if (Math.abs(loss - this.reportedLoss) >= 0.1) changed = true
    if (changed) {
      this.reportedSrtt = this.srttMs
      this.reportedLoss = loss
    }
    return changed
  }

  toJSON(): ServerHealthJSON {
    return {
      lastRttMs: this.lastRttMs,
      srttMs: this.srttMs,
      rttvarMs: this.rttvarMs,
      window: this.window.map((ok) => (ok ? '1' : '0')).join(''),
      failStreak: this.failStreak,
      okStreak: this.okStreak,
      up: this.up,
      samples: this.samples,
      lastAt: this.lastAt,
      lastError: this.lastError,
    }
  }

  /** Rebuilds a ServerHealth from `toJSON()` output (already validated by HealthTable.fromJSON). */
  static fromJSON(j: ServerHealthJSON, opts: HealthOptions = {}): ServerHealth {
    const h = new ServerHealth(opts)
    h.lastRttMs = j.lastRttMs
    h.srttMs = j.srttMs
    h.rttvarMs = j.rttvarMs
    h.window = [...j.window].map((c) => c === '1')
    h.failStreak = j.failStreak
    h.okStreak = j.okStreak
    h.up = j.up
    h.samples = j.samples
    h.lastAt = j.lastAt
    h.lastError = j.lastError
    h.reportedSrtt = j.srttMs
    h.reportedLoss = h.loss ?? 0
    return h
  }
}
