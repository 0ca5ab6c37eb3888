// The resolver's infrastructure cache: per name server (address and port) a smoothed RTT, a timeout hold-down
// and the adaptive query timeout, so the servers of an NS set are asked best first and a silent one costs once.
import {LRUCache} from 'lru-cache'

/** What the cache knows about one name server. */
export interface ServerStats {
  /** Smoothed RTT (RFC 6298 SRTT) of the replies, ms; undefined until the server has answered once. */
  srttMs?: number
  /** RTT variation (RFC 6298 RTTVAR), ms. */
  rttvarMs?: number
  /** When the server last replied (clock of the cache, ms): the score decays from here. */
  repliedAt: number
  /** Failures (timeouts, unreachable, malformed replies) since the last reply. */
  failures: number
  /** Asked only after every other server of a set until then (0: not held). */
  heldUntil: number
}

export interface InfraCacheOptions {
  /** Servers remembered; least recently used go first (default 10 000). */
  maxServers?: number
  /** How long a server is held back after its first failure, ms (default 5000); doubles per further failure. */
  holdMs?: number
  /** Longest hold-down, ms (default 120 000, unbound's USEFUL_SERVER_TOP_TIMEOUT). */
  maxHoldMs?: number
  /** Half-life of the selection score of a server not heard from, ms (default 60 000). */
  halfLifeMs?: number
  /** Clock in ms (tests). */
  now?: () => number
}

/** A server's place in the order: its score, and whether it is held back after failures. */
interface Rank<T> {
  item: T
  index: number
  score: number
  heldUntil: number
}

/** RTT assumed for a server never heard from, ms: unbound's UNKNOWN_SERVER_NICENESS. */
export const UNKNOWN_RTT_MS = 376

/** Servers whose scores differ by at most max(BAND_MS, BAND_RATIO x best) are "close": the listed order decides. */
const BAND_MS = 2
const BAND_RATIO = 0.25

/**
 * Server selection state shared by every resolution of one resolver (one `glb serve isp` process), after
 * unbound's infra cache (util/rtt.c, services/cache/infra.c), BIND's ADB and hickory's DecayingSrtt:
 *
 * - RTT estimate (RFC 6298 §2), from each reply's round trip r:
 *     first reply, or the first after failures:  SRTT = r, RTTVAR = r/2
 *     otherwise:  RTTVAR = 3/4 RTTVAR + 1/4 |SRTT - r|,  SRTT = 7/8 SRTT + 1/8 r
 * - Query timeout: clamp(SRTT + 4 RTTVAR, min, max), and clamp(UNKNOWN_RTT_MS, min, max) for a server never
 *   heard from. A known-fast server is declared silent after `min` (200 ms by default), not after 1.5 s; the
 *   resolver asks again with `max` when no server of the set answered (one slow reply is not a dead server).
 * - Failure penalty (unbound's backed-off RTO, probed only occasionally): after the n-th failure in a row the
 *   server is held back for min(holdMs x 2^(n-1), maxHoldMs): it is asked only after every other server of
 *   the set, so later resolutions go to the other NS at once. When the hold ends it is asked first, once (a
 *   probe, with its usual timeout: short for a server known to be fast); while that probe is out it counts
 *   as held again, so concurrent resolutions do not all wait on it. Another failure doubles the hold, a
 *   reply clears it: a DNS-LB that comes back gets its clients back within one hold.
 * - Selection score, lowest first (hickory's DecayingSrtt): SRTT x 2^(-(now - repliedAt) / halfLifeMs) for a
 *   server that answered, UNKNOWN_RTT_MS for one never heard from, 0 for a probe, held servers last (soonest
 *   free first). The decay toward zero has a slower server measured again now and then, so a server that got
 *   faster is noticed. Known servers up to 376 ms come before unknown ones: unbound explores those by picking
 *   at random within 400 ms; glb keeps the NS set's order instead (next point).
 * - Among servers whose scores are close (within max(2 ms, 25 % of the best)) the order of the NS set wins,
 *   not a random pick: DNS-B lists the mapped DNS-LB first, and on loopback every RTT is close, so choosing
 *   at random would send a POP's clients to its second DNS-LB half of the time.
 */
export class InfraCache {
  private readonly lru: LRUCache<string, ServerStats>
  private readonly holdMs: number
  private readonly maxHoldMs: number
  private readonly halfLifeMs: number
  private readonly now: () => number

  constructor(o: InfraCacheOptions = {}) {
    this.lru = new LRUCache({max: o.maxServers ?? 10_000})
    this.holdMs = o.holdMs ?? 5000
    this.maxHoldMs = o.maxHoldMs ?? 120_000
    this.halfLifeMs = o.halfLifeMs ?? 60_000
    this.now = o.now ?? (() => performance.now())
  }

  get size(): number {
    return this.lru.size
  }

  clear(): void {
    this.lru.clear()
  }

  /** What is known of the server at address:port (a copy), or undefined. */
  stats(address: string, port: number): ServerStats | undefined {
    const s = this.lru.peek(key(address, port))
    return s ? {...s} : undefined
  }

  /** Records a reply (any rcode: the server is alive) that took `rttMs`. */
  recordReply(address: string, port: number, rttMs: number): void {
    const k = key(address, port)
    const s = this.lru.get(k)
    const r = Math.max(0, rttMs)
    if (!s || s.srttMs === undefined || s.failures > 0) {
      this.lru.set(k, {srttMs: r, rttvarMs: r / 2, repliedAt: this.now(), failures: 0, heldUntil: 0})
      return
    }
    s.rttvarMs = 0.75 * s.rttvarMs! + 0.25 * Math.abs(s.srttMs - r)
    s.srttMs = 0.875 * s.srttMs + 0.125 * r
    s.repliedAt = this.now()
  }

  /** Records a timeout (or an unreachable server, or a malformed reply): holds the server back, doubling. */
  recordFailure(address: string, port: number): void {
    const k = key(address, port)
    const now = this.now()
    const s = this.lru.get(k) ?? {repliedAt: now, failures: 0, heldUntil: 0}
    s.failures++
    s.heldUntil = now + Math.min(this.maxHoldMs, this.holdMs * 2 ** Math.min(30, s.failures - 1))
    this.lru.set(k, s)
  }

  /** The timeout for the next query to address:port: SRTT + 4 RTTVAR (or UNKNOWN_RTT_MS) within [minMs, maxMs]. */
  timeoutFor(address: string, port: number, bounds: {minMs: number; maxMs: number}): number {
    const s = this.lru.peek(key(address, port))
    const estimate = s?.srttMs === undefined ? UNKNOWN_RTT_MS : s.srttMs + 4 * s.rttvarMs!
    return Math.min(bounds.maxMs, Math.max(bounds.minMs, estimate))
  }

  /**
   * The servers (given in the order the NS set lists them) best first: probes, then lowest score with close
   * ones in listed order, held ones last. A server returned as a probe counts as held until its reply or
   * failure is recorded (or `holdMs` passes).
   */
  order<T>(items: readonly T[], addressOf: (item: T) => string, port: number): T[] {
    const now = this.now()
    const ranks: Rank<T>[] = items.map((item, index) => {
      const s = this.lru.peek(key(addressOf(item), port))
      if (s && s.failures > 0 && s.heldUntil <= now) {
        s.heldUntil = now + this.holdMs // the probe is out: one resolution at a time waits on it
        return {item, index, score: 0, heldUntil: 0}
      }
      const heldUntil = s && s.heldUntil > now ? s.heldUntil : 0
      const score = s?.srttMs === undefined ? UNKNOWN_RTT_MS : s.srttMs * 2 ** (-(now - s.repliedAt) / this.halfLifeMs)
      return {item, index, score, heldUntil}
    })
    const free = ranks.filter((r) => r.heldUntil === 0)
    const held = ranks.filter((r) => r.heldUntil !== 0).sort((a, b) => a.heldUntil - b.heldUntil || a.index - b.index)
    const out: T[] = []
    while (free.length) {
      const best = Math.min(...free.map((r) => r.score))
      const limit = best + Math.max(BAND_MS, BAND_RATIO * best)
      const i = free.findIndex((r) => r.score <= limit) // `free` stays in listed order: the first close one
      out.push(free[i]!.item)
      free.splice(i, 1)
    }
    return [...out, ...held.map((r) => r.item)]
  }
}

function key(address: string, port: number): string {
  return `${address}#${port}`
}
