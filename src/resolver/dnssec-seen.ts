// What DNSSEC records a reply carried (glb trace --dnssec): RRSIGs, NSEC denials and DS at a referral. No validation.
import {RRType, typeName} from '../dns/wire/constants.js'
import {readName} from '../dns/wire/name.js'
import type {Message, WireRecord} from '../dns/wire/reader.js'

/** The DNSSEC records of one reply, as a trace shows them. */
export interface HopDnssec {
  /** One entry per RRSIG: "A by example.test. key 12630 alg 13". */
  rrsigs: string[]
  /** One entry per NSEC: "glb.example.test. NS RRSIG NSEC" (owner and the types it lists). */
  nsec: string[]
  /** For a referral: the child's DS RRset ("present"), an NSEC at the cut without DS ("proved absent"), or neither. */
  ds?: 'present' | 'proved absent' | 'not shown'
}

const DNSSEC_ONLY = new Set<number>([RRType.RRSIG, RRType.NSEC, 50 /* NSEC3 */])

/** True for the records a resolver that does not validate sets aside (RRSIG, NSEC, NSEC3). */
export function isDnssecOnly(r: WireRecord): boolean {
  return DNSSEC_ONLY.has(r.type)
}

/** Reads the RRSIGs and NSECs of `m`; `cut` is the delegated zone when `m` is a referral. */
export function dnssecSeen(m: Message, cut?: string): HopDnssec {
  const all = [...m.answers, ...m.authorities]
  const rrsigs = all.filter((r) => r.type === RRType.RRSIG).map(rrsigText)
  const nsecs = all.filter((r) => r.type === RRType.NSEC)
  const out: HopDnssec = {rrsigs, nsec: nsecs.map(nsecText)}
  if (cut !== undefined) {
    const atCut = nsecs.find((r) => r.name === cut)
    out.ds = m.authorities.some((r) => r.type === RRType.DS && r.name === cut) ? 'present'
      : atCut && !nsecTypes(atCut).includes(RRType.DS) && nsecTypes(atCut).includes(RRType.NS) ? 'proved absent' : 'not shown'
  }
  return out
}

// "A by example.test. key 12630 alg 13" from RRSIG RDATA (RFC 4034 §3.1).
function rrsigText(r: WireRecord): string {
  const d = r.rdata
  if (d.length < 19) return `${r.name} RRSIG (short)`
  try {
    return `${typeName(d.readUInt16BE(0))} by ${readName(d, 18).name} key ${d.readUInt16BE(16)} alg ${d[2]}`
  } catch {
    return `${r.name} RRSIG (unreadable signer)`
  }
}

// The types of an NSEC's bitmap (RFC 4034 §4.1.2), after its next name.
function nsecTypes(r: WireRecord): number[] {
  const d = r.rdata
  let i = 0
  while (i < d.length && d[i] !== 0) i += d[i]! + 1
  i++
  const types: number[] = []
  while (i + 2 <= d.length) {
    const window = d[i]!, len = d[i + 1]!
    for (let b = 0; b < len && i + 2 + b < d.length; b++) {
      for (let bit = 0; bit < 8; bit++) if (d[i + 2 + b]! & (0x80 >> bit)) types.push(window * 256 + b * 8 + bit)
    }
    i += 2 + len
  }
  return types
}

function nsecText(r: WireRecord): string {
  return `${r.name} ${nsecTypes(r).map(typeName).join(' ')}`
}
