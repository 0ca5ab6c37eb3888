// One authoritative zone in memory and the RFC 1034 §4.3.2 lookup over it. DNS-A serves zones with it, and
// DNS-B and DNS-LB reuse it for their own SOA/NS/negative answers around the names they compute.
import {Rcode, RRType} from '../../dns/wire/constants.js'
import {isSubdomain, parentName} from '../../dns/wire/name.js'
import type {SoaData} from '../../dns/wire/reader.js'
import type {RR, RData} from '../../dns/wire/writer.js'
import type {ResponseSpec} from '../../dns/response.js'

/** A record as a zone stores it: owner canonical, data in writer form. */
export interface ZoneRecord {
  name: string
  type: number
  ttl: number
  data: RData
}

const MAX_CNAME_CHAIN = 8

/** Names NODATA/NXDOMAIN answers use: RFC 2308 §3, negative TTL = min(SOA TTL, SOA MINIMUM). */
export class Zone {
  readonly origin: string
  readonly soa: SoaData
  readonly soaTtl: number
  private readonly nodes = new Map<string, Map<number, ZoneRecord[]>>()
  /** Every name that exists, including empty non-terminals (RFC 8020: below them, NXDOMAIN is not implied). */
  private readonly existing = new Set<string>()
  /** Delegation points: names below the apex that own NS records. */
  private readonly cuts = new Set<string>()

  constructor(origin: string, soa: SoaData, soaTtl: number, records: ZoneRecord[]) {
    this.origin = origin
    this.soa = soa
    this.soaTtl = soaTtl
    this.add({name: origin, type: RRType.SOA, ttl: soaTtl, data: soa})
    for (const r of records) this.add(r)
  }

  private add(r: ZoneRecord): void {
    if (!isSubdomain(r.name, this.origin)) throw new Error(`${r.name} is outside zone ${this.origin}`)
    let node = this.nodes.get(r.name)
    if (!node) { node = new Map(); this.nodes.set(r.name, node) }
    let set = node.get(r.type)
    if (!set) { set = []; node.set(r.type, set) }
    // RFC 2181 §5.2: one TTL per RRset; the first record's TTL wins.
    set.push({...r, ttl: set.length ? set[0]!.ttl : r.ttl})
    if (r.type === RRType.NS && r.name !== this.origin) this.cuts.add(r.name)
    for (let n = r.name; ; n = parentName(n)) {
      this.existing.add(n)
      if (n === this.origin || n === '.') break
    }
  }

  /** All records, for listing and zone transfer (SOA first). */
  records(): ZoneRecord[] {
    const out: ZoneRecord[] = []
    for (const node of this.nodes.values()) for (const set of node.values()) out.push(...set)
    return out.sort((a, b) => (a.type === RRType.SOA ? -1 : b.type === RRType.SOA ? 1 : 0))
  }

  /** The RRset at a name, or undefined. */
  rrset(name: string, type: number): ZoneRecord[] | undefined {
    return this.nodes.get(name)?.get(type)
  }

  /** True when `name` exists (has records or descendants). */
  exists(name: string): boolean {
    return this.existing.has(name)
  }

  /** The SOA record for negative answers, its TTL capped by MINIMUM (RFC 2308 §5). */
  negativeSoa(): RR {
    return {name: this.origin, type: RRType.SOA, ttl: Math.min(this.soaTtl, this.soa.minimum), data: this.soa}
  }

  /** The closest delegation point at or above `qname` (below the apex), if any. */
  findCut(qname: string): string | null {
    if (this.cuts.size === 0) return null
    // Walk from the apex down so the topmost cut wins (data below a cut is occluded).
    const chain: string[] = []
    for (let n = qname; n !== this.origin && n !== '.'; n = parentName(n)) chain.push(n)
    for (let i = chain.length - 1; i >= 0; i--) if (this.cuts.has(chain[i]!)) return chain[i]!
    return null
  }

  /** A referral to the child zone at `cut`: NS in authority, glue for NS names inside this zone. */
  referral(cut: string): ResponseSpec {
    const ns = this.rrset(cut, RRType.NS) ?? []
    return {rcode: Rcode.NOERROR, aa: false, authority: ns.map(toRR), additional: this.glueFor(ns)}
  }

  /** A/AAAA records for NS or MX targets that this zone holds (glue, or helpful additional data). */
  glueFor(targets: ZoneRecord[]): RR[] {
    const out: RR[] = []
    for (const t of targets) {
      const host = typeof t.data === 'string' ? t.data : (t.data as {exchange?: string}).exchange
      if (!host || !isSubdomain(host, this.origin)) continue
      for (const type of [RRType.A, RRType.AAAA]) for (const r of this.rrset(host, type) ?? []) out.push(toRR(r))
    }
    return out
  }

  /**
   * Answers (qname, qtype) from this zone per RFC 1034 §4.3.2: referral below a cut, answer, CNAME (followed
   * inside the zone), NODATA, or NXDOMAIN. ANY gets one RRset (RFC 8482 §4.2), never the whole node.
   */
  lookup(qname: string, qtype: number): ResponseSpec {
    const cut = this.findCut(qname)
    if (cut && !(cut === qname && qtype === RRType.DS)) return this.referral(cut)
    const answer: RR[] = []
    let name = qname
    for (let hops = 0; hops <= MAX_CNAME_CHAIN; hops++) {
      const node = this.nodes.get(name)
      if (!node) {
        if (answer.length) return {rcode: Rcode.NOERROR, aa: true, answer}
        if (this.existing.has(name)) return this.nodata()
        return {rcode: Rcode.NXDOMAIN, aa: true, authority: [this.negativeSoa()]}
      }
      const set = qtype === RRType.ANY ? pickAny(node) : node.get(qtype)
      if (set && set.length) {
        answer.push(...set.map(toRR))
        const additional = set[0]!.type === RRType.NS || set[0]!.type === RRType.MX ? this.glueFor(set) : []
        return {rcode: Rcode.NOERROR, aa: true, answer, additional}
      }
      const cname = node.get(RRType.CNAME)
      if (!cname || qtype === RRType.CNAME) return answer.length ? {rcode: Rcode.NOERROR, aa: true, answer} : this.nodata()
      answer.push(toRR(cname[0]!))
      const target = cname[0]!.data as string
      // Follow the chain only while it stays in this zone and above any cut; the resolver does the rest.
      if (!isSubdomain(target, this.origin) || this.findCut(target)) return {rcode: Rcode.NOERROR, aa: true, answer}
      name = target
    }
    return {rcode: Rcode.NOERROR, aa: true, answer}
  }

  nodata(): ResponseSpec {
    return {rcode: Rcode.NOERROR, aa: true, authority: [this.negativeSoa()]}
  }
}

// RFC 8482 §4.2: answer ANY with one RRset the node has; prefer small, address-like sets.
function pickAny(node: Map<number, ZoneRecord[]>): ZoneRecord[] | undefined {
  for (const t of [RRType.A, RRType.AAAA, RRType.CNAME, RRType.MX, RRType.TXT, RRType.NS, RRType.SOA]) {
    const s = node.get(t)
    if (s?.length) return s
  }
  return node.values().next().value
}

export function toRR(r: ZoneRecord): RR {
  return {name: r.name, type: r.type, ttl: r.ttl, data: r.data}
}
