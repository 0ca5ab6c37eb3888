// DNS-A's Handler: answers from its zones, REFUSED outside them, with answers prepared once per name and type.
import {RRClass, Rcode, RRType} from '../../dns/wire/constants.js'
import {isSubdomain} from '../../dns/wire/name.js'
import {PreparedAnswer, type ResponseSpec} from '../../dns/response.js'
import type {Handler, Request, ResponseWriter} from '../../dns/handler.js'
import type {Zone} from './zone.js'

/**
 * Types worth preparing an answer for even where the name has none (their NODATA is asked often): the address
 * types, what qname minimisation and validating resolvers ask, and the usual service types.
 */
const COMMON_TYPES = new Set<number>([
  RRType.A, RRType.AAAA, RRType.NS, RRType.SOA, RRType.CNAME, RRType.MX, RRType.TXT, RRType.PTR, RRType.SRV,
  RRType.DS, RRType.ANY, 64 /* SVCB */, 65 /* HTTPS */, 257 /* CAA */,
])

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

  constructor(zones: Zone[]) {
    this.setZones(zones)
  }

  /** Replaces the zones (a reload); prepared answers are dropped and rebuilt on demand. */
  setZones(zones: Zone[]): void {
    // Longest origin first, so the most specific zone wins.
    this.zones = [...zones].sort((a, b) => b.origin.length - a.origin.length)
    this.prepared = new Map()
    this.preparedCount = 0
    this.nxdomain = new Map()
    this.referrals = new Map()
  }

  /** The zone that holds `qname`, if any. */
  zoneFor(qname: string): Zone | undefined {
    return this.zones.find((z) => isSubdomain(qname, z.origin))
  }

  serveDNS(req: Request, w: ResponseWriter): void {
    const {qname, qtype, qclass} = req.query
    // Class ANY is answered as IN (the only class we hold); the question is copied back as asked.
    if (qclass !== RRClass.IN && qclass !== RRClass.ANY) { w.reply({rcode: Rcode.REFUSED}); return }
    const hit = this.prepared.get(qtype)?.get(qname)
    if (hit) { w.prepared(hit); return }
    const zone = this.zoneFor(qname)
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
