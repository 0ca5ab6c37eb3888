// DNS-A's Handler: answers from its zones, REFUSED outside them, with answers prepared once per name and type.
import {RRClass, Rcode, RRType} from '../../dns/wire/constants.js'
import {isSubdomain} from '../../dns/wire/name.js'
import {PreparedAnswer, type ResponseSpec} from '../../dns/response.js'
import type {Handler, Request, ResponseWriter} from '../../dns/handler.js'
import {Zone} from './zone.js'
import type {ZoneSigner} from '../../dnssec/zone-signer.js'
import {signAnswer} from './signed-answer.js'

/**
 * Types worth preparing an answer for even where the name has none (their NODATA is asked often): the address
 * types, what qname minimisation and validating resolvers ask, and the usual service types.
 */
const COMMON_TYPES = new Set<number>([
  RRType.A, RRType.AAAA, RRType.NS, RRType.SOA, RRType.CNAME, RRType.MX, RRType.TXT, RRType.PTR, RRType.SRV,
  RRType.DS, RRType.DNSKEY, RRType.ANY, 64 /* SVCB */, 65 /* HTTPS */, 257 /* CAA */,
])

/** Answers for DO=1 queries to signed zones, kept apart from the unsigned ones and dropped when the signature window moves. */
interface SignedAnswers {
  window: number
  prepared: Map<number, Map<string, PreparedAnswer>>
  count: number
  referrals: Map<string, PreparedAnswer>
}

/**
 * Serves a set of zones. Answers for names the zones hold are prepared on first use and kept until the zones
 * are replaced (setZones), so the hot path is two map lookups and a copy. Names a client makes up never get an
 * entry of their own (so a random-subdomain flood cannot fill memory): their NXDOMAIN is one answer per zone,
 * and their referral one per delegation, both prepared for any name. What is left (wildcard answers, rare
 * types on existing names, CNAME chains from invented names) is encoded per query.
 */
export class AuthorityHandler implements Handler {
  private zones: Zone[] = []
  /** qtype -> qname -> answer: two lookups with the strings the reader already made, no key built per query. */
  private prepared = new Map<number, Map<string, PreparedAnswer>>()
  private preparedCount = 0
  /** Answers for any name: NXDOMAIN per zone origin, referral per delegation point. */
  private nxdomain = new Map<string, PreparedAnswer>()
  private referrals = new Map<string, PreparedAnswer>()
  private static readonly MAX_PREPARED = 100_000
  /** The zones as given (before DNSKEYs are added), so new signers can be applied to them. */
  private given: Zone[] = []
  /** Signers by zone origin; empty when nothing is signed (then DO=1 queries take the unsigned path). */
  private signers = new Map<string, ZoneSigner>()
  private signed: SignedAnswers = {window: -1, prepared: new Map(), count: 0, referrals: new Map()}

  constructor(zones: Zone[], signers?: Map<string, ZoneSigner>) {
    if (signers) this.signers = signers
    this.setZones(zones)
  }

  /** Replaces the zones (a reload); prepared answers are dropped and rebuilt on demand. */
  setZones(zones: Zone[]): void {
    this.given = zones
    // A signed zone serves its DNSKEY RRset at the apex, to DO=0 queries too (it is zone data).
    const served = zones.map((z) => {
      const signer = this.signers.get(z.origin)
      return signer ? withRecords(z, signer.dnskeyRecords(z.soaTtl)) : z
    })
    // Longest origin first, so the most specific zone wins.
    this.zones = served.sort((a, b) => b.origin.length - a.origin.length)
    this.prepared = new Map()
    this.preparedCount = 0
    this.nxdomain = new Map()
    this.referrals = new Map()
    this.signed = {window: -1, prepared: new Map(), count: 0, referrals: new Map()}
  }

  /** Replaces the zone signers (a reload of a.json or its key files); zones are re-served with the new DNSKEYs. */
  setSigners(signers: Map<string, ZoneSigner>): void {
    this.signers = signers
    this.setZones(this.given)
  }

  /**
   * The zone that holds `qname`, if any. A DS RRset belongs to the parent side of a cut (RFC 4035 §3.1.4.1):
   * a DS question for the apex of a zone is answered from its parent when this server holds both.
   */
  zoneFor(qname: string, qtype = 0): Zone | undefined {
    const zone = this.zones.find((z) => isSubdomain(qname, z.origin))
    if (qtype !== RRType.DS || !zone || zone.origin !== qname || qname === '.') return zone
    return this.zones.find((z) => z !== zone && isSubdomain(qname, z.origin)) ?? zone
  }

  serveDNS(req: Request, w: ResponseWriter): void {
    const {qname, qtype, qclass} = req.query
    // Class ANY is answered as IN (the only class we hold); the question is copied back as asked.
    if (qclass !== RRClass.IN && qclass !== RRClass.ANY) { w.reply({rcode: Rcode.REFUSED}); return }
    // RFC 3225: DO=1 asks for DNSSEC records; only then (and only for signed zones) do answers differ.
    if (this.signers.size !== 0 && req.query.edns?.do === true && this.serveSigned(req, w)) return
    const hit = this.prepared.get(qtype)?.get(qname)
    if (hit) { w.prepared(hit); return }
    const zone = this.zoneFor(qname, qtype)
    if (!zone) { w.reply({rcode: Rcode.REFUSED}); return }
    // Zone transfers are not offered by DNS-A (RFC 5936 §4: REFUSED when not permitted).
    if (qtype === RRType.AXFR || qtype === RRType.IXFR) { w.reply({rcode: Rcode.REFUSED}); return }
    const spec = zone.lookup(qname, qtype)
    const bounded = zone.knows(qname) && (COMMON_TYPES.has(qtype) || zone.has(qname, qtype))
    if (!bounded || this.preparedCount >= AuthorityHandler.MAX_PREPARED) {
      const shared = this.forAnyName(zone, spec)
      if (shared) w.prepared(shared)
      else w.reply(spec)
      return
    }
    const p = new PreparedAnswer(qname, qtype, spec)
    let byName = this.prepared.get(qtype)
    if (!byName) { byName = new Map(); this.prepared.set(qtype, byName) }
    byName.set(qname, p)
    this.preparedCount++
    w.prepared(p)
  }

  /**
   * A DO=1 query to a signed zone: the signed answer, prepared per name and type like the unsigned ones (and
   * a referral's once per cut, as it names no asked name) until the signature window moves. A denial for a
   * name the zone does not know is encoded per query: its NSEC is owned by that name (the signature cache
   * keeps a repeated one from being signed twice). False when the zone is not signed (the caller goes on).
   */
  private serveSigned(req: Request, w: ResponseWriter): boolean {
    const {qname, qtype} = req.query
    // Every signer of a handler uses the same window length (ZoneSigner's default): any one tells the window.
    const window = this.signers.values().next().value!.window().id
    if (window !== this.signed.window) this.signed = {window, prepared: new Map(), count: 0, referrals: new Map()}
    // Only signed zones' answers are in this map, so a hit needs no zone lookup.
    const hit = this.signed.prepared.get(qtype)?.get(qname)
    if (hit) { w.prepared(hit); return true }
    const zone = this.zoneFor(qname, qtype)
    const signer = zone && this.signers.get(zone.origin)
    if (!zone || !signer) return false
    if (qtype === RRType.AXFR || qtype === RRType.IXFR) { w.reply({rcode: Rcode.REFUSED}); return true }
    const unsigned = zone.lookup(qname, qtype)
    const spec = signAnswer(zone, signer, qname, qtype, unsigned)
    const bounded = zone.knows(qname) && (COMMON_TYPES.has(qtype) || zone.has(qname, qtype))
    if (!bounded || this.signed.count >= AuthorityHandler.MAX_PREPARED) {
      if (unsigned.aa === false && unsigned.authority?.[0]?.type === RRType.NS && !unsigned.answer?.length) {
        const cut = unsigned.authority[0].name
        let p = this.signed.referrals.get(cut)
        if (!p) { p = PreparedAnswer.forAnyName(spec); this.signed.referrals.set(cut, p) }
        w.prepared(p)
      } else w.reply(spec)
      return true
    }
    const p = new PreparedAnswer(qname, qtype, spec)
    let byName = this.signed.prepared.get(qtype)
    if (!byName) { byName = new Map(); this.signed.prepared.set(qtype, byName) }
    byName.set(qname, p)
    this.signed.count++
    w.prepared(p)
    return true
  }

  // The shared answer for a plain NXDOMAIN (no CNAME on the way) or a referral, whatever name was asked.
  private forAnyName(zone: Zone, spec: ResponseSpec): PreparedAnswer | null {
    if (spec.answer?.length) return null
    let cache: Map<string, PreparedAnswer>
    let key: string
    if (spec.rcode === Rcode.NXDOMAIN) { cache = this.nxdomain; key = zone.origin }
    else if (spec.aa === false && spec.authority?.[0]?.type === RRType.NS) { cache = this.referrals; key = spec.authority[0].name }
    else return null
    let p = cache.get(key)
    if (!p) { p = PreparedAnswer.forAnyName(spec); cache.set(key, p) }
    return p
  }
}

/** `zone` with `extra` records added (the DNSKEY RRset of a signed zone). */
function withRecords(zone: Zone, extra: {name: string; type: number; ttl: number; data: Buffer}[]): Zone {
  const records = zone.records().filter((r) => r.type !== RRType.SOA)
  return new Zone(zone.origin, zone.soa, zone.soaTtl, [...records, ...extra])
}
