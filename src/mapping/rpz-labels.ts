// The DNS name form of a prefix, after BIND's RPZ client-ip convention: "32.53.1.0.127", "32.zz.db8.2001".
//
// Used where a mapping key travels inside a DNS name: the owner names of DNS UPDATE registrations and of
// zone transfers. The labels come leftmost first and exclude the zone origin.
//   IPv4: <len>.<octet 4>.<octet 3>.<octet 2>.<octet 1>              10.1.0.0/16     -> 16.0.0.1.10
//   IPv6: <len>.<group 8>...<group 1>, hex groups without leading zeros, the longest run (two or more) of
//         zero groups written once as "zz"; on a tie the run nearest the start of the address, which is
//         RFC 5952's choice and what BIND's ip2name emits.              2001:db8::/32   -> 32.zz.db8.2001
// BIND logs non-canonical names and accepts them; labelsToPrefix rejects them, so a prefix has exactly one
// name and a name one prefix. Labels compare case-insensitively, as DNS names do.
import {ipv6Groups, longestZeroRun} from './address.js'
import {prefixProblem} from './prefix.js'
import type {Prefix} from './prefix.js'

/** Encodes a prefix as RPZ labels, leftmost first. Throws RangeError for an invalid prefix. */
export function prefixToLabels(p: Prefix): string[] {
  const problem = prefixProblem(p)
  if (problem !== null) throw new RangeError(`cannot name prefix: ${problem}`)
  const a = p.addr
  if (typeof a === 'number') {
    return [String(p.len), String(a & 0xff), String((a >>> 8) & 0xff), String((a >>> 16) & 0xff), String(a >>> 24)]
  }
  // BIND writes the same zero run as RFC 5952's "::", as the label "zz".
  const w = ipv6Groups(a)
  const {bestAt, bestLen} = longestZeroRun(w)
  const out = [String(p.len)]
  for (let k = 7; k >= 0; ) {
    if (bestAt >= 0 && k === bestAt + bestLen - 1) {
      out.push('zz')
      k -= bestLen
    } else {
      out.push(w[k]!.toString(16))
      k--
    }
  }
  return out
}

function decimal(s: string, max: number): number {
  if (s.length === 0 || s.length > 3) return -1
  let n = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 48 || c > 57) return -1
    n = n * 10 + (c - 48)
  }
  return n > max ? -1 : n
}

function hexGroup(s: string): number {
  if (s.length === 0 || s.length > 4) return -1
  let n = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i) | 0x20
    const h = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : -1
    if (h < 0) return -1
    n = n * 16 + h
  }
  return n
}

/**
 * Decodes RPZ labels (leftmost first, origin excluded) into a prefix, or returns null. Strict: the length
 * must be 1-32 (IPv4) or 1-128 (IPv6), octets 0-255, groups 0-ffff, no bits set beyond the length, and the
 * name must be the canonical one (no leading zeros, "zz" exactly where prefixToLabels puts it).
 */
export function labelsToPrefix(labels: readonly string[]): Prefix | null {
  if (labels.length < 2 || labels.length > 9) return null
  const len = decimal(labels[0]!, 128)
  if (len < 1) return null
  const rest = labels.length - 1
  let p: Prefix
  // BIND tells the families apart the same way: four address labels and no "z" is IPv4.
  if (rest === 4 && !labels.some((l) => /z/i.test(l))) {
    if (len > 32) return null
    let a = 0
    for (let k = 4; k >= 1; k--) {
      const o = decimal(labels[k]!, 255)
      if (o < 0) return null
      a = a * 256 + o
    }
    p = {addr: a, len}
  } else {
    const w = new Array<number>(8).fill(0)
    const zz = labels.findIndex((l) => l.toLowerCase() === 'zz')
    if (zz < 0 && rest !== 8) return null
    if (zz >= 0 && rest > 7) return null
    // Labels run from the last group to the first; "zz" stands for however many zero groups are missing.
    let k = 7
    for (let i = 1; i <= rest; i++) {
      if (i === zz) {
        k -= 8 - (rest - 1)
        continue
      }
      const g = hexGroup(labels[i]!)
      if (g < 0) return null
      w[k--] = g
    }
    const b = new Uint8Array(16)
    for (let j = 0; j < 8; j++) {
      b[j * 2] = w[j]! >>> 8
      b[j * 2 + 1] = w[j]! & 0xff
    }
    p = {addr: b, len}
  }
  if (prefixProblem(p) !== null) return null
  const canonical = prefixToLabels(p)
  if (canonical.length !== labels.length) return null
  for (let i = 0; i < labels.length; i++) if (labels[i]!.toLowerCase() !== canonical[i]) return null
  return p
}
