// An open-addressing hash table of IPv4 prefixes keyed by (masked uint32, length); one slot per prefix.
//
// Why this shape: a million JS objects would cost ~100 bytes each before any payload, so slots live in
// parallel typed arrays (9 bytes a slot, load factor at most 1/2). Linear probing with backward-shift
// deletion keeps probe chains short without tombstones, so a table that churns leases never degrades.
// Longest-prefix match probes once per prefix length that is present (usually a handful, longest first).

/** Marks an empty slot in `lens` (real lengths are 1-32). */
export const EMPTY = 0xff

/** murmur3's 32-bit finaliser: a bijection that spreads every input bit over the output. */
export function fmix32(h: number): number {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h
}

function hash(key: number, len: number): number {
  return fmix32(key ^ Math.imul(len, 0x9e3779b1))
}

/** The smallest power of two, at least 16, that holds `n` slots at load factor 1/2. */
export function capacityFor(n: number): number {
  let cap = 16
  while (cap < n * 2) cap *= 2
  return cap
}

/** IPv4 prefixes, each with one int32 of payload (`heads`, the MappingTable's first lease). */
export class IPv4PrefixIndex {
  keys: Uint32Array
  lens: Uint8Array
  /** Payload per slot; valid where lens[slot] !== EMPTY. Reallocated on growth: re-read after insert(). */
  heads: Int32Array
  /** Number of prefixes held. */
  count = 0
  /** Prefixes held per length. */
  readonly lenCount = new Int32Array(33)
  /** The lengths held, longest first, in present[0 .. presentCount). */
  readonly present = new Uint8Array(33)
  presentCount = 0
  private mask: number

  constructor(expected = 0) {
    const cap = capacityFor(expected)
    this.keys = new Uint32Array(cap)
    this.lens = new Uint8Array(cap).fill(EMPTY)
    this.heads = new Int32Array(cap).fill(-1)
    this.mask = cap - 1
  }

  /** Number of slots. */
  get capacity(): number {
    return this.mask + 1
  }

  /** The slot of prefix key/len (key already masked), or -1. */
  find(key: number, len: number): number {
    const lens = this.lens
    const keys = this.keys
    const mask = this.mask
    let i = hash(key, len) & mask
    for (;;) {
      const l = lens[i]
      if (l === EMPTY) return -1
      if (l === len && keys[i] === key) return i
      i = (i + 1) & mask
    }
  }

  /** Adds prefix key/len, which must be absent, with payload -1; returns its slot. */
  insert(key: number, len: number): number {
    if ((this.count + 1) * 2 > this.mask + 1) this.resize((this.mask + 1) * 2)
    const lens = this.lens
    const mask = this.mask
    let i = hash(key, len) & mask
    while (lens[i] !== EMPTY) i = (i + 1) & mask
    this.keys[i] = key
    lens[i] = len
    this.heads[i] = -1
    this.count++
    if (this.lenCount[len]!++ === 0) this.refreshPresent()
    return i
  }

  /** Removes the prefix in `slot`. Later slots may move back into it (see sweep loops in the table). */
  deleteSlot(slot: number): void {
    const lens = this.lens
    const keys = this.keys
    const heads = this.heads
    const mask = this.mask
    const len = lens[slot]!
    let i = slot
    let j = slot
    for (;;) {
      j = (j + 1) & mask
      const l = lens[j]!
      if (l === EMPTY) break
      const home = hash(keys[j]!, l) & mask
      // j may move back to i only if its home is not cyclically inside (i, j].
      if (((j - home) & mask) >= ((j - i) & mask)) {
        keys[i] = keys[j]!
        lens[i] = l
        heads[i] = heads[j]!
        i = j
      }
    }
    lens[i] = EMPTY
    heads[i] = -1
    this.count--
    if (--this.lenCount[len]! === 0) this.refreshPresent()
  }

  private refreshPresent(): void {
    let n = 0
    for (let len = 32; len >= 1; len--) if (this.lenCount[len]! > 0) this.present[n++] = len
    this.presentCount = n
  }

  private resize(cap: number): void {
    const {keys, lens, heads} = this
    this.keys = new Uint32Array(cap)
    this.lens = new Uint8Array(cap).fill(EMPTY)
    this.heads = new Int32Array(cap).fill(-1)
    this.mask = cap - 1
    for (let s = 0; s < lens.length; s++) {
      const l = lens[s]!
      if (l === EMPTY) continue
      let i = hash(keys[s]!, l) & this.mask
      while (this.lens[i] !== EMPTY) i = (i + 1) & this.mask
      this.keys[i] = keys[s]!
      this.lens[i] = l
      this.heads[i] = heads[s]!
    }
  }
}
