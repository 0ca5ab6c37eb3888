// An open-addressing hash table of IPv6 prefixes keyed by (four masked uint32 words, length).
//
// The same design as ipv4-prefix-index.ts (read its header for why): one int32 array, linear probing,
// backward-shift deletion; a slot is [w0, w1, w2, w3, len, head] (24 bytes), words big-endian.
import {capacityFor, fmix32} from './ipv4-prefix-index.js'

/** int32s per slot. */
const W = 6

function hash(w0: number, w1: number, w2: number, w3: number, len: number): number {
  let h = fmix32(w0 ^ Math.imul(len, 0x9e3779b1))
  h = fmix32(h ^ w1)
  h = fmix32(h ^ w2)
  return fmix32(h ^ w3)
}

/** IPv6 prefixes, each with one int32 of payload. A slot with len 0 is empty (lengths are 1-128). */
export class IPv6PrefixIndex {
  /** [w0, w1, w2, w3 (as int32), len, head] per slot. Replaced on growth: do not hold across insert(). */
  slots: Int32Array
  /** Number of prefixes held. */
  count = 0
  /** Prefixes held per length. */
  readonly lenCount = new Int32Array(129)
  /** The lengths held, longest first, in present[0 .. presentCount). */
  readonly present = new Uint8Array(129)
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
    return this.slots[slot * W + 4]!
  }

  /** Word k (0-3, uint32) of the network address in `slot`. */
  wordAt(slot: number, k: number): number {
    return this.slots[slot * W + k]! >>> 0
  }

  /** The payload of `slot`. */
  head(slot: number): number {
    return this.slots[slot * W + 5]!
  }

  setHead(slot: number, head: number): void {
    this.slots[slot * W + 5] = head
  }

  /** The slot of the prefix with masked words w0..w3 and length `len`, or -1. */
  find(w0: number, w1: number, w2: number, w3: number, len: number): number {
    const s = this.slots
    const mask = this.mask
    const k0 = w0 | 0
    const k1 = w1 | 0
    const k2 = w2 | 0
    const k3 = w3 | 0
    let i = hash(w0, w1, w2, w3, len) & mask
    for (;;) {
      const o = i * W
      const l = s[o + 4]
      if (l === 0) return -1
      if (l === len && s[o] === k0 && s[o + 1] === k1 && s[o + 2] === k2 && s[o + 3] === k3) return i
      i = (i + 1) & mask
    }
  }

  /** Adds the prefix, which must be absent, with payload -1; returns its slot. */
  insert(w0: number, w1: number, w2: number, w3: number, len: number): number {
    if ((this.count + 1) * 2 > this.mask + 1) this.resize((this.mask + 1) * 2)
    const s = this.slots
    const mask = this.mask
    let i = hash(w0, w1, w2, w3, len) & mask
    while (s[i * W + 4] !== 0) i = (i + 1) & mask
    const o = i * W
    s[o] = w0
    s[o + 1] = w1
    s[o + 2] = w2
    s[o + 3] = w3
    s[o + 4] = len
    s[o + 5] = -1
    this.count++
    if (this.lenCount[len]!++ === 0) this.refreshPresent()
    return i
  }

  /** Removes the prefix in `slot`. A later slot may move back into it: callers scanning look again. */
  deleteSlot(slot: number): void {
    const s = this.slots
    const mask = this.mask
    const len = s[slot * W + 4]!
    let i = slot
    let j = slot
    for (;;) {
      j = (j + 1) & mask
      const o = j * W
      const l = s[o + 4]!
      if (l === 0) break
      const home = hash(s[o]! >>> 0, s[o + 1]! >>> 0, s[o + 2]! >>> 0, s[o + 3]! >>> 0, l) & mask
      // j may move back to i only if its home is not cyclically inside (i, j].
      if (((j - home) & mask) >= ((j - i) & mask)) {
        s.copyWithin(i * W, o, o + W)
        i = j
      }
    }
    s.fill(0, i * W, i * W + W)
    this.count--
    if (--this.lenCount[len]! === 0) this.refreshPresent()
  }

  private refreshPresent(): void {
    let n = 0
    for (let len = 128; len >= 1; len--) if (this.lenCount[len]! > 0) this.present[n++] = len
    this.presentCount = n
  }

  private resize(cap: number): void {
    const old = this.slots
    const s = new Int32Array(cap * W)
    const mask = cap - 1
    for (let o = 0; o < old.length; o += W) {
      const l = old[o + 4]!
      if (l === 0) continue
      let i = hash(old[o]! >>> 0, old[o + 1]! >>> 0, old[o + 2]! >>> 0, old[o + 3]! >>> 0, l) & mask
      while (s[i * W + 4] !== 0) i = (i + 1) & mask
      s.set(old.subarray(o, o + W), i * W)
    }
    this.slots = s
    this.mask = mask
  }
}
