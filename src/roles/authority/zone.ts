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

/**
 * One zone's records and the lookup over them. Negative answers carry the SOA with the RFC 2308 §5 negative
 * TTL, min(SOA TTL, SOA MINIMUM).
 */
export class Zone {
  readonly origin: string
  readonly soa: SoaData
  readonly soaTtl: number
  private readonly nodes = new Map<string, Map<number, ZoneRecord[]>>()
  /** Every name that exists, including empty non-terminals (RFC 8020: below them, NXDOMAIN is not implied). */
  private readonly existing = new Set<string>()
  /** Delegation points: names below the apex that own NS records. */
  private readonly cuts = new Set<string>()
  private hasWildcards = false

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
    if (r.name.startsWith('*.')) this.hasWildcards = true
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
    return {rcode: Rcode.NOERROR, aa: false, authority: ns.map((r) => toRR(r)), additional: this.glueFor(ns)}
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
   * inside the zone), NODATA, or NXDOMAIN; names that do not exist are matched against a wildcard (RFC 4592).
   * ANY gets one RRset (RFC 8482 §4.2), never the whole node. After a CNAME the rcode and the negative SOA are
   * those of the last name of the chain, with the chain in the answer (RFC 6604 §3, RFC 2308 §2.1-2.2).
   */
  lookup(qname: string, qtype: number): ResponseSpec {
    const cut = this.findCut(qname)
    if (cut && !(cut === qname && qtype === RRType.DS)) return this.referral(cut)
    const answer: RR[] = []
    const seen: string[] = []
    let name = qname
    for (;;) {
      seen.push(name)
      const node = this.nodes.get(name) ?? this.wildcardFor(name)
      if (!node) {
        if (this.existing.has(name)) return this.nodata(answer)
        return {rcode: Rcode.NXDOMAIN, aa: true, answer, authority: [this.negativeSoa()]}
      }
      const set = qtype === RRType.ANY ? pickAny(node) : node.get(qtype)
      if (set && set.length) {
        for (const r of set) answer.push(toRR(r, name))
        const additional = set[0]!.type === RRType.NS || set[0]!.type === RRType.MX ? this.glueFor(set) : []
        return {rcode: Rcode.NOERROR, aa: true, answer, additional}
      }
      const cname = node.get(RRType.CNAME)
      if (!cname || qtype === RRType.CNAME) return this.nodata(answer)
      answer.push(toRR(cname[0]!, name))
      const target = cname[0]!.data as string
      // Follow the chain only while it stays in this zone, above any cut, and does not loop; past that the
      // resolver goes on from the last CNAME (RFC 1034 §4.3.2 step 3a).
      if (seen.length > MAX_CNAME_CHAIN || seen.includes(target) || !isSubdomain(target, this.origin) || this.findCut(target)) {
        return {rcode: Rcode.NOERROR, aa: true, answer}
      }
      name = target
    }
  }

  /** True when `name` is in the zone's tree (records or descendants): the names whose answers are bounded. */
  knows(name: string): boolean {
    return this.existing.has(name)
  }

  /**
   * The types `name` owns, as a lookup sees it (a name that does not exist takes its wildcard's types): what an
   * NSEC at `name` lists (src/dnssec's compact denial). Empty for an empty non-terminal or no name at all.
   */
  typesAt(name: string): number[] {
    const node = this.nodes.get(name) ?? this.wildcardFor(name)
    return node ? [...node.keys()] : []
  }

  /** True when `name` owns an RRset of `type` here. */
  has(name: string, type: number): boolean {
    return this.nodes.get(name)?.has(type) ?? false
  }

  /**
   * RFC 4592 §3.3.1: for a name that does not exist, the wildcard `*.<closest encloser>`, if the zone has one.
   * The closest encloser is the longest existing ancestor; a wildcard never matches across an existing name.
   */
  private wildcardFor(name: string): Map<number, ZoneRecord[]> | undefined {
    if (!this.hasWildcards || this.existing.has(name)) return undefined
    let encloser = parentName(name)
    while (!this.existing.has(encloser)) {
      if (encloser === this.origin || encloser === '.') return undefined
      encloser = parentName(encloser)
    }
    return this.nodes.get(encloser === '.' ? '*.' : '*.' + encloser)
  }

  /** NODATA: NOERROR, the SOA for negative caching, and the CNAME chain that led here, if any. */
  nodata(answer: RR[] = []): ResponseSpec {
    return {rcode: Rcode.NOERROR, aa: true, answer, authority: [this.negativeSoa()]}
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

/** A zone record as the writer takes it; `owner` replaces the name when a wildcard synthesised it. */
export function toRR(r: ZoneRecord, owner: string = r.name): RR {
  return {name: owner, type: r.type, ttl: r.ttl, data: r.data}
}
