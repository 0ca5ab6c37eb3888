// DNS-A's Handler: answers from its zones, REFUSED outside them, with answers prepared once per name and type.
import {Rcode, RRType} from '../../dns/wire/constants.js'
import {isSubdomain} from '../../dns/wire/name.js'
import {PreparedAnswer, type ResponseSpec} from '../../dns/response.js'
import type {Handler, Request, ResponseWriter} from '../../dns/handler.js'
import type {Zone} from './zone.js'

/**
 * Serves a set of zones. Answers for names that exist are prepared on first use and kept until the zones are
 * replaced (setZones), so the hot path is a map lookup and a copy. NXDOMAIN answers depend on the asked
 * name, so they are encoded per query (and never fill memory with names chosen by a client).
 */
export class AuthorityHandler implements Handler {
  private zones: Zone[] = []
  private prepared = new Map<string, PreparedAnswer>()
  private static readonly MAX_PREPARED = 100_000

  constructor(zones: Zone[]) {
    this.setZones(zones)
  }

  /** Replaces the zones (a reload); prepared answers are dropped and rebuilt on demand. */
  setZones(zones: Zone[]): void {
    // Longest origin first, so the most specific zone wins.
    this.zones = [...zones].sort((a, b) => b.origin.length - a.origin.length)
    this.prepared = new Map()
  }

  /** The zone that holds `qname`, if any. */
  zoneFor(qname: string): Zone | undefined {
    return this.zones.find((z) => isSubdomain(qname, z.origin))
  }

  serveDNS(req: Request, w: ResponseWriter): void {
    const {qname, qtype, qclass} = req.query
    if (qclass !== 1 && qclass !== 255) { w.reply({rcode: Rcode.REFUSED}); return }
    const key = qtype + '|' + qname
    const hit = this.prepared.get(key)
    if (hit) { w.prepared(hit); return }
    const zone = this.zoneFor(qname)
    if (!zone) { w.reply({rcode: Rcode.REFUSED}); return }
    if (qtype === RRType.AXFR || qtype === RRType.IXFR) { w.reply({rcode: Rcode.REFUSED}); return }
    const spec: ResponseSpec = zone.lookup(qname, qtype)
    if (spec.rcode === Rcode.NXDOMAIN || this.prepared.size >= AuthorityHandler.MAX_PREPARED) { w.reply(spec); return }
    const p = new PreparedAnswer(qname, qtype, spec)
    this.prepared.set(key, p)
    w.prepared(p)
  }
}
