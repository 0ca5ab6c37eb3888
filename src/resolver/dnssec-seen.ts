// What DNSSEC records a reply carried (glb trace --dnssec): RRSIGs, NSEC denials and DS at a referral. No validation.
import {RRType, typeName} from '../dns/wire/constants.js'
import {readName} from '../dns/wire/name.js'
import type {Message, WireRecord} from '../dns/wire/reader.js'
import {nsecTypes} from '../dnssec/rdata.js'

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
      : atCut && !nsecTypes(atCut.rdata).includes(RRType.DS) && nsecTypes(atCut.rdata).includes(RRType.NS) ? 'proved absent' : 'not shown'
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

function nsecText(r: WireRecord): string {
  return `${r.name} ${nsecTypes(r.rdata).map(typeName).join(' ')}`
}
