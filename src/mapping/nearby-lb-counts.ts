// Counts of registrations per DNS-LB near an address, for the no-mapping default: "the busiest LB nearby".
//
// Definition (what busiest() answers): among the leases held whose prefix lies inside the same /16 as the
// address (IPv4) or the same /32 (IPv6), the LB holding the most; when that neighbourhood holds none, the
// LB holding the most leases overall; ties go to the LB whose name sorts first (setRanks), so every DNS-B
// holding the same leases gives the same answer whatever order it learnt the LBs in. Prefixes shorter than the neighbourhood
// (10.0.0.0/8) count only overall. Leases count until removed or swept, so an expired lease still counts
// until the DNS-B's next sweep; the answer is a default, and the sweep interval bounds the staleness.
//
// Why incremental: the no-mapping path may be hit at query rate (by spoofed or new resolvers), so the
// answer must be a map lookup plus a scan of the few LBs seen in one neighbourhood, not a table scan.
// Per neighbourhood the counts are a flat number[]: [cachedBest, lb, count, lb, count, ...] (IPv4 keeps its
// cached answers in v4Best instead, so slot 0 is unused there); the 65,536
// IPv4 neighbourhoods are a plain array indexed by the /16 (bulk loads add a million leases; a Map lookup
// per lease was a quarter of the load time), the sparse IPv6 ones a Map.

/** IPv4 neighbourhood length. */
export const NEARBY_V4_LEN = 16
/** IPv6 neighbourhood length. */
export const NEARBY_V6_LEN = 32

const DIRTY = -2

/** Incremental per-neighbourhood and overall lease counts per LB. */
export class NearbyLbCounts {
  private readonly v4 = new Array<number[] | undefined>(1 << NEARBY_V4_LEN).fill(undefined)
  // The answer per IPv4 neighbourhood in one flat array (DIRTY: recompute; -1: the neighbourhood holds none).
  // busiest() runs on most DNS-B queries (the second NS); reading this is one memory access where the
  // per-neighbourhood arrays are three dependent ones, each a likely cache miss at a million leases.
  private readonly v4Best = new Int32Array(1 << NEARBY_V4_LEN).fill(DIRTY)
  private readonly v6 = new Map<number, number[]>()
  private readonly overall: number[] = []
  private overallBest = DIRTY
  /** Tie-break order by LB id (lower first); ids without one rank by id after every ranked one. */
  private rank: readonly number[] = []

  /** Sets the tie-break order (rank by LB id, e.g. by name) and forgets every cached answer. */
  setRanks(rank: readonly number[]): void {
    this.rank = rank
    this.v4Best.fill(DIRTY)
    for (const b of this.v6.values()) b[0] = DIRTY
    this.overallBest = DIRTY
  }

  /** Adds `delta` leases of `lbId` to neighbourhood `hood` (-1: none) of the family, and overall. */
  add(v6: boolean, hood: number, lbId: number, delta: number): void {
    while (this.overall.length <= lbId) this.overall.push(0)
    this.overall[lbId]! += delta
    this.overallBest = DIRTY
    if (hood < 0) return
    if (!v6) this.v4Best[hood] = DIRTY
    let b = v6 ? this.v6.get(hood) : this.v4[hood]
    if (b === undefined) {
      if (delta <= 0) return
      b = [DIRTY]
      if (v6) this.v6.set(hood, b)
      else this.v4[hood] = b
    }
    b[0] = DIRTY
    for (let i = 1; i < b.length; i += 2) {
      if (b[i] !== lbId) continue
      b[i + 1]! += delta
      if (b[i + 1]! <= 0) {
        // Keep the array dense: move the last pair into the hole.
        b[i] = b[b.length - 2]!
        b[i + 1] = b[b.length - 1]!
        b.length -= 2
        if (b.length === 1) {
          if (v6) this.v6.delete(hood)
          else this.v4[hood] = undefined
        }
      }
      return
    }
    if (delta > 0) b.push(lbId, delta)
  }

  /** The busiest LB in neighbourhood `hood` of the family, else overall; -1 when no lease is held. */
  busiest(v6: boolean, hood: number): number {
    if (!v6) {
      let id = this.v4Best[hood]!
      if (id === DIRTY) {
        const b = this.v4[hood]
        id = this.v4Best[hood] = b === undefined ? -1 : bestOfPairs(b, this.rank)
      }
      if (id >= 0) return id
    } else {
      const b = this.v6.get(hood)
      if (b !== undefined) {
        if (b[0] === DIRTY) b[0] = bestOfPairs(b, this.rank)
        if (b[0]! >= 0) return b[0]!
      }
    }
    if (this.overallBest === DIRTY) {
      let best = -1
      for (let id = 0; id < this.overall.length; id++) {
        const c = this.overall[id]!
        if (c > 0 && (best < 0 || c > this.overall[best]! || (c === this.overall[best]! && before(id, best, this.rank)))) best = id
      }
      this.overallBest = best
    }
    return this.overallBest
  }
}

/** Whether LB `a` wins a tie against LB `b`. */
function before(a: number, b: number, rank: readonly number[]): boolean {
  const ra = rank[a] ?? rank.length + a
  const rb = rank[b] ?? rank.length + b
  return ra < rb
}

function bestOfPairs(b: number[], rank: readonly number[]): number {
  let best = -1
  let bestCount = 0
  for (let i = 1; i < b.length; i += 2) {
    const id = b[i]!
    const c = b[i + 1]!
    if (c > bestCount || (c === bestCount && c > 0 && before(id, best, rank))) {
      best = id
      bestCount = c
    }
  }
  return best
}
