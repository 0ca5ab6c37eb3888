// The DNS-LB's zone and its prepared answers, built once per choice: the query path only looks them up.
import {Rcode, RRType} from '../../dns/wire/constants.js'
import {PreparedAnswer, type ResponseSpec} from '../../dns/response.js'
import {Zone, type ZoneRecord} from '../authority/zone.js'

/** What the answers are built from. */
export interface AnswerInputs {
  /** The load-balanced name, which is the zone's apex (www.glb.example.test.). */
  origin: string
  /** This DNS-LB's label: its NS name is `<label>.<origin>`. */
  label: string
  /** Addresses of the NS name (this DNS-LB's own), for the in-bailiwick glue. */
  nsAddresses: {A: string[]; AAAA: string[]}
  /** TTL of the apex A/AAAA answer (and of negative answers). */
  ttl: number
  /** TTL of SOA, NS and the NS name's addresses. */
  zoneTtl: number
  serial: number
  /** The addresses to answer at the apex, best first; empty when the family has no server. */
  answers: {A: string[]; AAAA: string[]}
  /** Families answered with SERVFAIL (every server down, fallback "servfail"). */
  servfail: {A: boolean; AAAA: boolean}
}

/** A zone plus answers prepared for it. Answers for names the zone holds are added on first use. */
export class AnswerSet {
  readonly zone: Zone
  readonly nsName: string
  /** qtype -> qname -> answer: two lookups with the strings the reader already made, no key built per query. */
  private readonly prepared = new Map<number, Map<string, PreparedAnswer>>()
  private preparedCount = 0
  private static readonly MAX_PREPARED = 1000

  constructor(readonly inputs: AnswerInputs) {
    const {origin, label, ttl, zoneTtl} = inputs
    this.nsName = `${label}.${origin}`
    const records: ZoneRecord[] = [{name: origin, type: RRType.NS, ttl: zoneTtl, data: this.nsName}]
    for (const a of inputs.nsAddresses.A) records.push({name: this.nsName, type: RRType.A, ttl: zoneTtl, data: a})
    for (const a of inputs.nsAddresses.AAAA) records.push({name: this.nsName, type: RRType.AAAA, ttl: zoneTtl, data: a})
    for (const a of inputs.answers.A) records.push({name: origin, type: RRType.A, ttl, data: a})
    for (const a of inputs.answers.AAAA) records.push({name: origin, type: RRType.AAAA, ttl, data: a})
    // RFC 2308 §5: MINIMUM caps negative caching; the answer TTL keeps a NODATA as short-lived as an answer.
    const soa = {mname: this.nsName, rname: `hostmaster.${origin}`, serial: inputs.serial >>> 0, refresh: 3600, retry: 600, expire: 86400, minimum: ttl}
    this.zone = new Zone(origin, soa, zoneTtl, records)
    for (const qtype of [RRType.A, RRType.AAAA, RRType.SOA, RRType.NS]) this.prepare(origin, qtype)
    this.prepare(this.nsName, RRType.A)
    this.prepare(this.nsName, RRType.AAAA)
  }

  /** The prepared answer for (qtype, qname) if there is one already. */
  get(qtype: number, qname: string): PreparedAnswer | undefined {
    return this.prepared.get(qtype)?.get(qname)
  }

  /**
   * Answers (qname, qtype) from the zone: a prepared answer (made now and kept) for names that exist, or a
   * spec to encode per query for NXDOMAIN (whose names a client chooses, so they are never kept).
   */
  lookup(qname: string, qtype: number): PreparedAnswer | ResponseSpec {
    const hit = this.get(qtype, qname)
    if (hit) return hit
    const spec = this.spec(qname, qtype)
    if (spec.rcode === Rcode.NXDOMAIN || this.preparedCount >= AnswerSet.MAX_PREPARED) return spec
    return this.prepare(qname, qtype, spec)
  }

  /** The response for (qname, qtype), encoded per query by the caller. */
  spec(qname: string, qtype: number): ResponseSpec {
    if (qname === this.inputs.origin) {
      if (qtype === RRType.A && this.inputs.servfail.A) return {rcode: Rcode.SERVFAIL}
      if (qtype === RRType.AAAA && this.inputs.servfail.AAAA) return {rcode: Rcode.SERVFAIL}
    }
    return this.zone.lookup(qname, qtype)
  }

  private prepare(qname: string, qtype: number, spec = this.spec(qname, qtype)): PreparedAnswer {
    const p = new PreparedAnswer(qname, qtype, spec)
    let byName = this.prepared.get(qtype)
    if (!byName) this.prepared.set(qtype, (byName = new Map()))
    byName.set(qname, p)
    this.preparedCount++
    return p
  }
}
