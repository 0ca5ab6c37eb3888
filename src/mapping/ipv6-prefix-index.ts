// An open-addressing hash table of IPv6 prefixes keyed by (four masked uint32 words, length).
//
// The same design as ipv4-prefix-index.ts (read its header for why): parallel typed arrays, linear probing,
// backward-shift deletion; a key is four big-endian words, so a slot costs 21 bytes.
import {capacityFor, EMPTY, fmix32} from './ipv4-prefix-index.js'

function hash(w0: number, w1: number, w2: number, w3: number, len: number): number {
  let h = fmix32(w0 ^ Math.imul(len, 0x9e3779b1))
  h = fmix32(h ^ w1)
  h = fmix32(h ^ w2)
  return fmix32(h ^ w3)
}

/** IPv6 prefixes, each with one int32 of payload (`heads`, the MappingTable's first lease). */
export class IPv6PrefixIndex {
  /** Four words per slot: keys[slot*4 .. slot*4+3]. */
  keys: Uint32Array
  lens: Uint8Array
  /** Payload per slot; valid where lens[slot] !== EMPTY. Reallocated on growth: re-read after insert(). */
  heads: Int32Array
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
    this.keys = new Uint32Array(cap * 4)
    this.lens = new Uint8Array(cap).fill(EMPTY)
    this.heads = new Int32Array(cap).fill(-1)
    this.mask = cap - 1
  }

  /** Number of slots. */
  get capacity(): number {
    return this.mask + 1
  }

  /** The slot of the prefix with masked words w0..w3 and length `len`, or -1. */
  find(w0: number, w1: number, w2: number, w3: number, len: number): number {
    const lens = this.lens
    const keys = this.keys
    const mask = this.mask
    let i = hash(w0, w1, w2, w3, len) & mask
    for (;;) {
      const l = lens[i]
      if (l === EMPTY) return -1
      const k = i * 4
      if (l === len && keys[k] === w0 && keys[k + 1] === w1 && keys[k + 2] === w2 && keys[k + 3] === w3) return i
      i = (i + 1) & mask
    }
  }

  /** Adds the prefix, which must be absent, with payload -1; returns its slot. */
  insert(w0: number, w1: number, w2: number, w3: number, len: number): number {
    if ((this.count + 1) * 2 > this.mask + 1) this.resize((this.mask + 1) * 2)
    const lens = this.lens
    const mask = this.mask
    let i = hash(w0, w1, w2, w3, len) & mask
    while (lens[i] !== EMPTY) i = (i + 1) & mask
    const k = i * 4
    this.keys[k] = w0
    this.keys[k + 1] = w1
    this.keys[k + 2] = w2
    this.keys[k + 3] = w3
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
      const kj = j * 4
      const home = hash(keys[kj]!, keys[kj + 1]!, keys[kj + 2]!, keys[kj + 3]!, l) & mask
      // j may move back to i only if its home is not cyclically inside (i, j].
      if (((j - home) & mask) >= ((j - i) & mask)) {
        keys.copyWithin(i * 4, kj, kj + 4)
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
    for (let len = 128; len >= 1; len--) if (this.lenCount[len]! > 0) this.present[n++] = len
    this.presentCount = n
  }

  private resize(cap: number): void {
    const {keys, lens, heads} = this
    this.keys = new Uint32Array(cap * 4)
    this.lens = new Uint8Array(cap).fill(EMPTY)
    this.heads = new Int32Array(cap).fill(-1)
    this.mask = cap - 1
    for (let s = 0; s < lens.length; s++) {
      const l = lens[s]!
      if (l === EMPTY) continue
      const ks = s * 4
      let i = hash(keys[ks]!, keys[ks + 1]!, keys[ks + 2]!, keys[ks + 3]!, l) & this.mask
      while (this.lens[i] !== EMPTY) i = (i + 1) & this.mask
      this.keys.set(keys.subarray(ks, ks + 4), i * 4)
      this.lens[i] = l
      this.heads[i] = heads[s]!
    }
  }
}
