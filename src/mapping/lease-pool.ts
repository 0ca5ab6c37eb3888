// Lease records: (expiry, preference) in a Float64Array and (LB id, next) in an Int32Array, chained per prefix.
//
// 24 bytes a lease, in two pairs so a lookup's chain walk reads two adjacent words from each array
// (one cache line each) and the integer fields stay integers. Freed records go on a free list threaded
// through `next`, so churn reuses them and renewals allocate nothing.

/** Field ids for LeasePool.set(). Absolute expiry, Unix seconds (fractions allowed). */
export const EXP = 0
/** Preference, lower is better; Infinity when the LB gave none. */
export const PREF = 1
/** LB id. */
export const LB = 2
/** Next lease of the same prefix (or next free record); -1 at the end. */
export const NEXT = 3

/** A pool of lease records addressed by index j: times at t[2j], t[2j+1]; links at n[2j], n[2j+1]. */
export class LeasePool {
  /** [expiry, preference] per lease. Replaced on growth: do not hold across alloc(). */
  t: Float64Array
  /** [LB id, next] per lease. Replaced on growth: do not hold across alloc(). */
  n: Int32Array
  /** Leases in use. */
  count = 0
  private freeHead = -1
  private highWater = 0

  constructor(expected = 0) {
    const cap = Math.max(64, expected)
    this.t = new Float64Array(cap * 2)
    this.n = new Int32Array(cap * 2)
  }

  /** Number of records allocated (used or free). */
  get capacity(): number {
    return this.n.length >> 1
  }

  exp(j: number): number {
    return this.t[j * 2]!
  }

  pref(j: number): number {
    return this.t[j * 2 + 1]!
  }

  lb(j: number): number {
    return this.n[j * 2]!
  }

  next(j: number): number {
    return this.n[j * 2 + 1]!
  }

  /** Sets one field (EXP, PREF, LB or NEXT) of lease j. */
  set(j: number, field: number, value: number): void {
    if (field < LB) this.t[j * 2 + field] = value
    else this.n[j * 2 + field - LB] = value
  }

  /** Takes a record; its fields are stale until the caller sets them. */
  alloc(): number {
    this.count++
    if (this.freeHead >= 0) {
      const j = this.freeHead
      this.freeHead = this.next(j)
      return j
    }
    if (this.highWater === this.capacity) {
      // x1.5 rather than x2: the pool is the bulk of the memory and grows during bulk loads.
      const cap = Math.ceil(this.capacity * 1.5)
      const t = new Float64Array(cap * 2)
      t.set(this.t)
      const n = new Int32Array(cap * 2)
      n.set(this.n)
      this.t = t
      this.n = n
    }
    return this.highWater++
  }

  /** Returns a record to the free list. */
  release(j: number): void {
    this.count--
    this.n[j * 2 + 1] = this.freeHead
    this.freeHead = j
  }
}
