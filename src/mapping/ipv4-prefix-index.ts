// An open-addressing hash table of IPv4 prefixes keyed by (masked uint32, length); one slot per prefix.
//
// Why this shape: a million JS objects would cost ~100 bytes each before any payload, so a slot is three
// int32s in one typed array, [key, len, head] (12 bytes, load factor at most 1/2), and a lookup touches one
// cache line per probe. Linear probing with backward-shift deletion keeps probe chains short without
// tombstones, so a table that churns leases never degrades. `head` is the owner's payload (the
// MappingTable's first lease). Longest-prefix match probes once per length present, longest first.

/** int32s per slot. */
const W = 3

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

/** IPv4 prefixes, each with one int32 of payload. A slot with len 0 is empty (lengths are 1-32). */
export class IPv4PrefixIndex {
  /** [key (as int32), len, head] per slot. Replaced on growth: do not hold across insert(). */
  slots: Int32Array
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
    this.slots = new Int32Array(cap * W)
    this.mask = cap - 1
  }

  /** Number of slots. */
  get capacity(): number {
    return this.mask + 1
  }

  /** The prefix length in `slot`, 0 when empty. */
  lenAt(slot: number): number {
    return this.slots[slot * W + 1]!
  }

  /** The network address (uint32) in `slot`. */
  keyAt(slot: number): number {
    return this.slots[slot * W]! >>> 0
  }

  /** The payload of `slot`. */
  head(slot: number): number {
    return this.slots[slot * W + 2]!
  }

  setHead(slot: number, head: number): void {
    this.slots[slot * W + 2] = head
  }

  /** The slot of prefix key/len (key already masked), or -1. */
  find(key: number, len: number): number {
    const s = this.slots
    const mask = this.mask
    const k = key | 0
    let i = hash(key, len) & mask
    for (;;) {
      const o = i * W
      const l = s[o + 1]
      if (l === 0) return -1
      if (l === len && s[o] === k) return i
      i = (i + 1) & mask
    }
  }

  /** Adds prefix key/len, which must be absent, with payload -1; returns its slot. */
  insert(key: number, len: number): number {
    if ((this.count + 1) * 2 > this.mask + 1) this.resize((this.mask + 1) * 2)
    const s = this.slots
    const mask = this.mask
    let i = hash(key, len) & mask
    while (s[i * W + 1] !== 0) i = (i + 1) & mask
    s[i * W] = key
    s[i * W + 1] = len
    s[i * W + 2] = -1
    this.count++
    if (this.lenCount[len]!++ === 0) this.refreshPresent()
    return i
  }

  /** Removes the prefix in `slot`. A later slot may move back into it: callers scanning look again. */
  deleteSlot(slot: number): void {
    const s = this.slots
    const mask = this.mask
    const len = s[slot * W + 1]!
    let i = slot
    let j = slot
    for (;;) {
      j = (j + 1) & mask
      const l = s[j * W + 1]!
      if (l === 0) break
      const home = hash(s[j * W]! >>> 0, l) & mask
      // j may move back to i only if its home is not cyclically inside (i, j].
      if (((j - home) & mask) >= ((j - i) & mask)) {
        s.copyWithin(i * W, j * W, j * W + W)
        i = j
      }
    }
    s.fill(0, i * W, i * W + W)
    this.count--
    if (--this.lenCount[len]! === 0) this.refreshPresent()
  }

  private refreshPresent(): void {
    let n = 0
    for (let len = 32; len >= 1; len--) if (this.lenCount[len]! > 0) this.present[n++] = len
    this.presentCount = n
  }

  private resize(cap: number): void {
    const old = this.slots
    const s = new Int32Array(cap * W)
    const mask = cap - 1
    for (let o = 0; o < old.length; o += W) {
      const l = old[o + 1]!
      if (l === 0) continue
      let i = hash(old[o]! >>> 0, l) & mask
      while (s[i * W + 1] !== 0) i = (i + 1) & mask
      s.set(old.subarray(o, o + W), i * W)
    }
    this.slots = s
    this.mask = mask
  }
}
