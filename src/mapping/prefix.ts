// An address prefix (network address + length) and its text form "10.1.0.0/16", "2001:db8::/32".
import {addressBits, formatAddress, hostBitsClear, isAddress, MASK4, parseIPv4, parseIPv6Into} from './address.js'
import type {Address} from './address.js'

/** A prefix: `addr` with every bit beyond `len` zero. IPv4 lengths 1-32, IPv6 1-128. */
export interface Prefix {
  readonly addr: Address
  readonly len: number
}

/**
 * Why lengths start at 1: BIND's RPZ names (our DNS name form, see rpz-labels.ts) reject length 0, and a
 * catch-all mapping is what the DNS-B's default already is. Keeping one rule everywhere means every entry
 * the table holds can be sent in an UPDATE or a zone transfer.
 */
export const MIN_PREFIX_LEN = 1

/** Returns why `p` is not a valid prefix, or null when it is. */
export function prefixProblem(p: Prefix): string | null {
  if (!isAddress(p.addr)) return 'address is not a uint32 or 16 bytes'
  const bits = addressBits(p.addr)
  if (!Number.isInteger(p.len) || p.len < MIN_PREFIX_LEN || p.len > bits) {
    return `prefix length ${p.len} is outside ${MIN_PREFIX_LEN}-${bits}`
  }
  if (!hostBitsClear(p.addr, p.len)) return `has bits set beyond /${p.len}`
  return null
}

/** Formats a prefix as "address/len". */
export function formatPrefix(p: Prefix): string {
  return `${formatAddress(p.addr)}/${p.len}`
}

function parseLen(s: string, start: number, end: number): number {
  if (end <= start || end - start > 3) return -1
  let n = 0
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i)
    if (c < 48 || c > 57) return -1
    if (i > start && n === 0) return -1
    n = n * 10 + (c - 48)
  }
  return n
}

/**
 * Parses "address/len" (a bare address means a full-length prefix) into a Prefix, or returns null.
 * Strict: the length must be in range and the address bits beyond it zero.
 */
export function parsePrefix(s: string): Prefix | null {
  const slash = s.indexOf('/')
  const end = slash < 0 ? s.length : slash
  let addr: Address
  if (s.indexOf(':') < 0) {
    const v4 = parseIPv4(s, 0, end)
    if (v4 < 0) return null
    addr = v4
  } else {
    const b = new Uint8Array(16)
    if (!parseIPv6Into(s, b, 0, end)) return null
    addr = b
  }
  const len = slash < 0 ? addressBits(addr) : parseLen(s, slash + 1, s.length)
  const p = {addr, len}
  return prefixProblem(p) === null ? p : null
}

/** True when `addr` (same family) lies inside prefix `p`. */
export function prefixContains(p: Prefix, addr: Address): boolean {
  if (typeof p.addr === 'number') {
    return typeof addr === 'number' && ((addr & MASK4[p.len]!) >>> 0) === p.addr
  }
  if (typeof addr === 'number') return false
  for (let k = 0; k < 16; k++) {
    const bits = p.len - k * 8
    if (bits <= 0) break
    const keep = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff
    if ((addr[k]! & keep) !== p.addr[k]) return false
  }
  return true
}

/** True when two prefixes are the same network and length. */
export function prefixEquals(a: Prefix, b: Prefix): boolean {
  if (a.len !== b.len) return false
  if (typeof a.addr === 'number' || typeof b.addr === 'number') return a.addr === b.addr
  for (let k = 0; k < 16; k++) if (a.addr[k] !== b.addr[k]) return false
  return true
}
