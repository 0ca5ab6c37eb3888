// Reads an authoritative server's reply for the resolver: answer, negative answer, referral, or why it is unusable.
// The delegation and glue rules live here (RFC 1034 §5.3.3, RFC 2181 §5.4.1, and what real resolvers do).
import {Flag, Rcode, RRType} from '../dns/wire/constants.js'
import {isSubdomain} from '../dns/wire/name.js'
import type {Message, WireRecord} from '../dns/wire/reader.js'
import type {RR} from '../dns/wire/writer.js'
import type {HopReferral} from './hop.js'

/** A name server of a delegation and the addresses we may use for it. */
export interface NameServer {
  /** Undefined for start servers given by address. */
  name?: string
  addresses: string[]
}

/** Where a zone is served: its name and its servers. */
export interface Delegation {
  zone: string
  servers: NameServer[]
  ttl: number
  /** The NS RRset and accepted glue, as records (for the cache). */
  records: RR[]
  ignoredGlue: string[]
}

export type Reading =
  | {kind: 'answer'; records: RR[]; rcode: number; ttl: number; ignored: string[]}
  | {kind: 'nodata'; soa: RR[]; ttl: number}
  | {kind: 'nxdomain'; soa: RR[]; ttl: number; records: RR[]}
  | {kind: 'referral'; delegation: Delegation}
  | {kind: 'lame'; reason: string}
  | {kind: 'loop'; reason: string}
  | {kind: 'rcode'; rcode: number; reason: string}

/** Converts a record as read from the wire to the writer's form (raw RDATA for types glb does not decode). */
export function toRR(r: WireRecord): RR {
  return {name: r.name, type: r.type, ttl: r.ttl, data: r.data ?? Buffer.from(r.rdata)}
}

/** The negative caching TTL of a SOA record: min(SOA TTL, SOA MINIMUM) (RFC 2308 §5). */
export function negativeTtl(soa: RR | undefined): number {
  if (!soa || typeof soa.data !== 'object' || Buffer.isBuffer(soa.data) || Array.isArray(soa.data) || !('minimum' in soa.data)) return 0
  return Math.min(soa.ttl, soa.data.minimum)
}

/**
 * Classifies a reply to a query for qname from a server we reached through the delegation of `zone`.
 * - Answer records are accepted only inside `zone` (the server's bailiwick); the rest is ignored.
 * - A referral must lead strictly below `zone` and to an ancestor (or the name itself) of qname: anything
 *   else is a loop (same zone or above) or lame (sideways), and the server is skipped.
 * - Glue is accepted only for NS names inside the delegated zone (in-bailiwick), like unbound and BIND.
 * - An answer without AA and without a referral is lame: the server does not serve the zone.
 */
export function readResponse(m: Message, zone: string, qname: string): Reading {
  const rcode = m.rcode
  if (rcode !== Rcode.NOERROR && rcode !== Rcode.NXDOMAIN) {
    return {kind: 'rcode', rcode, reason: ''}
  }
  const aa = (m.header.flags & Flag.AA) !== 0
  const inZone = m.answers.filter((r) => isSubdomain(r.name, zone) && r.class === 1)
  const ignored = m.answers.filter((r) => !inZone.includes(r)).map((r) => `${r.name} (outside ${zone})`)
  const soa = m.authorities.filter((r) => r.type === RRType.SOA && isSubdomain(r.name, zone)).map(toRR).slice(0, 1)

  if (inZone.length > 0) {
    if (!aa) return {kind: 'lame', reason: 'answered without AA (not authoritative for ' + zone + ')'}
    const records = inZone.map(toRR)
    if (rcode === Rcode.NXDOMAIN) return {kind: 'nxdomain', soa, ttl: negativeTtl(soa[0]), records}
    return {kind: 'answer', records, rcode, ttl: Math.min(...records.map((r) => r.ttl)), ignored}
  }

  const ns = m.authorities.filter((r) => r.type === RRType.NS)
  if (ns.length > 0 && soa.length === 0 && rcode === Rcode.NOERROR && !(aa && ns[0]!.name === zone)) {
    const child = ns[0]!.name
    if (!isSubdomain(qname, child)) {
      return {kind: 'lame', reason: `referred ${qname} to ${child}, which does not contain it`}
    }
    if (!isSubdomain(child, zone) || child === zone) {
      return {kind: 'loop', reason: `referred ${qname} back to ${child}, which is not below ${zone}`}
    }
    return {kind: 'referral', delegation: readDelegation(m, child)}
  }

  if (aa) {
    if (rcode === Rcode.NXDOMAIN) return {kind: 'nxdomain', soa, ttl: negativeTtl(soa[0]), records: []}
    return {kind: 'nodata', soa, ttl: negativeTtl(soa[0])}
  }
  return {kind: 'lame', reason: `answered ${rcode === Rcode.NXDOMAIN ? 'NXDOMAIN' : 'NOERROR'} without AA and without a referral`}
}

/** Reads the NS RRset at `child` from the authority section and the in-bailiwick glue from the additional. */
export function readDelegation(m: Message, child: string): Delegation {
  const nsRecords = m.authorities.filter((r) => r.type === RRType.NS && r.name === child && typeof r.data === 'string')
  const names = [...new Set(nsRecords.map((r) => r.data as string))]
  const glueRecords: WireRecord[] = []
  const ignoredGlue: string[] = []
  for (const r of m.additionals) {
    if (r.type !== RRType.A && r.type !== RRType.AAAA) continue
    if (!names.includes(r.name)) continue
    // RFC 9471 / resolver practice: glue is only trusted for names inside the delegated zone.
    if (isSubdomain(r.name, child)) glueRecords.push(r)
    else ignoredGlue.push(`${r.name} ${r.data as string}`)
  }
  const servers = names.map((name) => ({
    name,
    addresses: glueRecords.filter((g) => g.name === name).map((g) => g.data as string),
  }))
  const ttl = nsRecords.length ? Math.min(...nsRecords.map((r) => r.ttl)) : 0
  return {zone: child, servers, ttl, records: [...nsRecords, ...glueRecords].map(toRR), ignoredGlue}
}

/** The referral as a trace shows it. */
export function hopReferral(d: Delegation): HopReferral {
  return {
    zone: d.zone,
    ns: d.servers.map((s) => s.name!),
    glue: d.servers.flatMap((s) => s.addresses.map((address) => ({name: s.name!, address}))),
    ignoredGlue: d.ignoredGlue,
  }
}
