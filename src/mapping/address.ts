// IP addresses in the parsed forms the mapping table is keyed by: a uint32 for IPv4, 16 bytes for IPv6.

/** An IPv4 address as an unsigned 32-bit integer (127.0.0.1 is 0x7f000001). */
export type IPv4 = number
/** An IPv6 address as 16 bytes in network order. */
export type IPv6 = Uint8Array
/** An address in parsed form; `typeof addr === 'number'` tells the family. */
export type Address = IPv4 | IPv6

/** MASK4[len] keeps the first `len` bits of a uint32 (a table because `x << 32` is `x` in JS). */
export const MASK4 = (() => {
  const m = new Uint32Array(33)
  for (let len = 1; len <= 32; len++) m[len] = (0xffffffff << (32 - len)) >>> 0
  return m
})()

/** True when `addr` is a well-formed parsed address: a uint32, or exactly 16 bytes. */
export function isAddress(addr: unknown): addr is Address {
  if (typeof addr === 'number') return Number.isInteger(addr) && addr >= 0 && addr <= 0xffffffff
  return addr instanceof Uint8Array && addr.length === 16
}

/** The address length in bits: 32 or 128. */
export function addressBits(addr: Address): 32 | 128 {
  return typeof addr === 'number' ? 32 : 128
}

/**
 * Parses the dotted quad in s[start, end) into a uint32, or returns -1. Strict: four decimal octets 0-255,
 * no leading zeros (inet_aton would read 010 as octal 8), nothing else. Allocates nothing.
 */
export function parseIPv4(s: string, start = 0, end = s.length): number {
  const b = v4scratch
  return parseIPv4Into(s, b, 0, start, end) ? ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0 : -1
}

const v4scratch = new Uint8Array(4)

/**
 * Parses the dotted quad in s[start, end) into out[at .. at+3] and returns true, or returns false; the
 * same strict rules as parseIPv4. For hot paths: no number over 2^31 is returned, so none is boxed.
 */
export function parseIPv4Into(s: string, out: Uint8Array, at: number, start = 0, end = s.length): boolean {
  let octet = 0
  let digits = 0
  let dots = 0
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i)
    if (c >= 48 && c <= 57) {
      if (digits > 0 && octet === 0) return false
      octet = octet * 10 + (c - 48)
      if (octet > 255) return false
      digits++
    } else if (c === 46) {
      if (digits === 0 || dots === 3) return false
      out[at + dots] = octet
      octet = 0
      digits = 0
      dots++
    } else {
      return false
    }
  }
  if (dots !== 3 || digits === 0) return false
  out[at + 3] = octet
  return true
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48
  if (c >= 97 && c <= 102) return c - 87
  if (c >= 65 && c <= 70) return c - 55
  return -1
}

/**
 * Parses the IPv6 text in s[start, end) into `out` (16 bytes) and returns true, or returns false (out is
 * then garbage). Accepts RFC 4291 §2.2 forms: 1-4 hex digits per group, one `::`, a dotted-quad tail.
 * Rejects zone ids (`%eth0`): strip them first. Allocates nothing.
 */
export function parseIPv6Into(s: string, out: Uint8Array, start = 0, end = s.length): boolean {
  let i = start
  let words = 0
  let gap = -1
  if (end - start < 2) return false
  if (s.charCodeAt(i) === 58) {
    if (s.charCodeAt(i + 1) !== 58) return false
    gap = 0
    i += 2
  }
  while (i < end) {
    let j = i
    let v = 0
    for (; j < end; j++) {
      const h = hexValue(s.charCodeAt(j))
      if (h < 0) break
      v = v * 16 + h
    }
    if (j < end && s.charCodeAt(j) === 46) {
      // RFC 4291 §2.2 form 3: the last 32 bits as a dotted quad.
      if (words > 6 || !parseIPv4Into(s, out, words * 2, i, end)) return false
      words += 2
      i = end
      break
    }
    if (j === i || j - i > 4 || words === 8) return false
    out[words * 2] = v >>> 8
    out[words * 2 + 1] = v & 0xff
    words++
    if (j === end) {
      i = j
      break
    }
    if (s.charCodeAt(j) !== 58) return false
    j++
    if (j < end && s.charCodeAt(j) === 58) {
      if (gap >= 0) return false
      gap = words
      j++
    } else if (j === end) {
      return false
    }
    i = j
  }
  if (gap < 0) return words === 8
  if (words > 7) return false
  // Move the groups after `::` to the end and zero the gap.
  const tail = (words - gap) * 2
  for (let k = 0; k < tail; k++) out[15 - k] = out[words * 2 - 1 - k]!
  for (let k = gap * 2; k < 16 - tail; k++) out[k] = 0
  return true
}

/** Parses an IPv4 or IPv6 literal into its parsed form, or returns null. Strict (see parseIPv4, parseIPv6Into). */
export function parseAddress(s: string): Address | null {
  if (s.indexOf(':') < 0) {
    const v4 = parseIPv4(s)
    return v4 < 0 ? null : v4
  }
  const out = new Uint8Array(16)
  return parseIPv6Into(s, out) ? out : null
}

/** Formats an IPv4 uint32 as a dotted quad. */
export function formatIPv4(a: number): string {
  return `${a >>> 24}.${(a >>> 16) & 0xff}.${(a >>> 8) & 0xff}.${a & 0xff}`
}

/**
 * Formats 16 bytes as RFC 5952 text: lowercase, no leading zeros, the longest run (two or more) of zero
 * groups as `::`, the first one on a tie. Always hex, also for v4-mapped addresses (as WHATWG URL does).
 */
export function formatIPv6(b: Uint8Array): string {
  const w = ipv6Groups(b)
  const {bestAt, bestLen} = longestZeroRun(w)
  if (bestAt < 0) return w.map((x) => x.toString(16)).join(':')
  const head = w.slice(0, bestAt).map((x) => x.toString(16)).join(':')
  const tail = w.slice(bestAt + bestLen).map((x) => x.toString(16)).join(':')
  return `${head}::${tail}`
}

/** The eight 16-bit groups of an IPv6 address. */
export function ipv6Groups(b: Uint8Array): number[] {
  const w: number[] = []
  for (let k = 0; k < 8; k++) w.push((b[k * 2]! << 8) | b[k * 2 + 1]!)
  return w
}

/** RFC 5952 §4.2.3: the longest run (two or more) of zero groups, the first on a tie; bestAt -1 when none. */
export function longestZeroRun(w: number[]): {bestAt: number; bestLen: number} {
  let bestAt = -1
  let bestLen = 1
  for (let k = 0; k < 8; ) {
    if (w[k] !== 0) {
      k++
      continue
    }
    let e = k
    while (e < 8 && w[e] === 0) e++
    if (e - k > bestLen) {
      bestAt = k
      bestLen = e - k
    }
    k = e
  }
  return {bestAt, bestLen}
}

/** Formats a parsed address as text (dotted quad or RFC 5952). */
export function formatAddress(addr: Address): string {
  return typeof addr === 'number' ? formatIPv4(addr) : formatIPv6(addr)
}

/**
 * Keeps the first `len` bits of `addr` and zeroes the rest. RFC 7871 §6 requires the ADDRESS bits beyond
 * SOURCE PREFIX-LENGTH to be zero, so ECS code masks before it compares or echoes. For IPv6 the result is
 * written to `out` (a new array unless given; may be `addr` itself).
 */
export function maskAddress(addr: IPv4, len: number): IPv4
export function maskAddress(addr: IPv6, len: number, out?: Uint8Array): IPv6
export function maskAddress(addr: Address, len: number, out?: Uint8Array): Address
export function maskAddress(addr: Address, len: number, out?: Uint8Array): Address {
  if (typeof addr === 'number') {
    if (!(len >= 0 && len <= 32)) throw new RangeError(`IPv4 prefix length ${len} is outside 0-32`)
    return (addr & MASK4[len]!) >>> 0
  }
  if (!(len >= 0 && len <= 128)) throw new RangeError(`IPv6 prefix length ${len} is outside 0-128`)
  const o = out ?? new Uint8Array(16)
  for (let k = 0; k < 16; k++) {
    const bits = len - k * 8
    o[k] = bits >= 8 ? addr[k]! : bits <= 0 ? 0 : addr[k]! & (0xff << (8 - bits))
  }
  return o
}

/** True when `addr` has no bit set beyond the first `len` (it is a valid network address for /len). */
export function hostBitsClear(addr: Address, len: number): boolean {
  if (typeof addr === 'number') return ((addr & ~MASK4[len]!) >>> 0) === 0
  for (let k = 0; k < 16; k++) {
    const bits = len - k * 8
    if (bits >= 8) continue
    const keep = bits <= 0 ? 0 : (0xff << (8 - bits)) & 0xff
    if ((addr[k]! & ~keep) !== 0) return false
  }
  return true
}
