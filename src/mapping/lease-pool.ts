// Lease records in parallel typed arrays: (LB id, expiry, preference), chained per prefix through `next`.
//
// 24 bytes a lease. Freed records go on a free list threaded through `next`, so churn reuses them and a
// million renewals allocate nothing.

/** A pool of lease records addressed by index; the arrays are replaced on growth (re-read after alloc). */
export class LeasePool {
  /** LB id per lease. */
  lb: Int32Array
  /** Absolute expiry per lease, in seconds since the Unix epoch (fractions allowed). */
  exp: Float64Array
  /** Preference per lease, lower is better; Infinity when the LB gave none. */
  pref: Float64Array
  /** Next lease of the same prefix (or next free record), -1 at the end. */
  next: Int32Array
  /** Leases in use. */
  count = 0
  private freeHead = -1
  private highWater = 0

  constructor(expected = 0) {
    const cap = Math.max(64, expected)
    this.lb = new Int32Array(cap)
    this.exp = new Float64Array(cap)
    this.pref = new Float64Array(cap)
    this.next = new Int32Array(cap)
  }

  /** Number of records allocated (used or free). */
  get capacity(): number {
    return this.lb.length
  }

  /** Takes a record; its fields are stale until the caller sets them. */
  alloc(): number {
    this.count++
    if (this.freeHead >= 0) {
      const j = this.freeHead
      this.freeHead = this.next[j]!
      return j
    }
    if (this.highWater === this.lb.length) this.grow()
    return this.highWater++
  }

  /** Returns a record to the free list. */
  release(j: number): void {
    this.count--
    this.next[j] = this.freeHead
    this.freeHead = j
  }

  private grow(): void {
    // x1.5 rather than x2: the pool is the bulk of the memory and growth happens during bulk loads.
    const cap = Math.ceil(this.lb.length * 1.5)
    const lb = new Int32Array(cap)
    lb.set(this.lb)
    const exp = new Float64Array(cap)
    exp.set(this.exp)
    const pref = new Float64Array(cap)
    pref.set(this.pref)
    const next = new Int32Array(cap)
    next.set(this.next)
    this.lb = lb
    this.exp = exp
    this.pref = pref
    this.next = next
  }
}
