// DNS-LB's Handler: the apex A/AAAA from the current choice, SOA/NS/glue and negative answers from its zone,
// and `_explain.<zone> TXT` for allowed clients. The query path is a map lookup and a copy.
import {Rcode, RRType, rcodeName, typeName} from '../../dns/wire/constants.js'
import {EcsEcho} from '../../dns/wire/ecs-echo.js'
import type {RoleMetrics} from '../../observe/metrics.js'
import {isSubdomain} from '../../dns/wire/name.js'
import {PreparedAnswer} from '../../dns/response.js'
import type {Handler, Request, ResponseWriter} from '../../dns/handler.js'
import type {AnswerSet} from './balancer-answers.js'
import {parseAddress, parsePrefix, prefixContains, type Prefix} from '../../mapping/index.js'
import type {RR} from '../../dns/wire/writer.js'
import {isRelayed} from './second-ns-relay.js'
import type {SecondNsRelay} from './second-ns-relay.js'

/** Where the explanation comes from: computed when asked (rarely), never on the answer path. */
export interface ExplainSource {
  /** True when `address` may see explanations (others get REFUSED). */
  allows(address: string): boolean
  /** The TXT strings: first "answer=... policy=... ttl=...", then one per server. */
  explain(): string[]
}

/** Serves one DNS-LB zone from an AnswerSet that its owner replaces whenever the choice changes. */
export class BalancerHandler implements Handler {
  private explainName: string
  /** This DNS-LB's own resolver: every egress discovered, and the configured isp.prefixes. */
  private homeAddresses: ReadonlySet<string> = new Set()
  private homePrefixes: Prefix[] = []
  /** True while nothing is known of the own resolver: every client is then foreign. */
  private relay: SecondNsRelay | null = null
  private readonly echo = new EcsEcho()

  constructor(private answers: AnswerSet, private readonly explainer: ExplainSource, private readonly metrics?: RoleMetrics) {
    this.explainName = `_explain.${answers.inputs.origin}`
  }

  /** Swaps in answers built for a new choice (or a new state). */
  setAnswers(answers: AnswerSet): void {
    this.answers = answers
    this.explainName = `_explain.${answers.inputs.origin}`
  }

  /** This DNS-LB's own resolver's discovered egress addresses (a farm has several). */
  setHomeAddresses(addresses: Iterable<string>): void {
    this.homeAddresses = new Set(addresses)
  }

  /** The own resolver's configured prefixes (isp.prefixes). */
  setHome(prefixes: readonly string[]): void {
    this.homePrefixes = prefixes.map((p) => parsePrefix(p)).filter((p): p is Prefix => p !== null)
  }

  /** True when `address` is this DNS-LB's own resolver: a discovered egress, or inside an isp prefix. */
  isHome(address: string): boolean {
    if (this.homeAddresses.has(address)) return true
    const list = this.homePrefixes
    if (list.length === 0) return false
    const a = parseAddress(address.startsWith('::ffff:') ? address.slice(7) : address)
    if (a === null) return false
    for (let i = 0; i < list.length; i++) if (prefixContains(list[i]!, a)) return true
    return false
  }

  /** Answers resolvers referred to another DNS-LB with that one's choice (null: always answer our own). */
  setRelay(relay: SecondNsRelay | null): void {
    this.relay = relay
  }

  /** The answers in force (for tests and explain). */
  get current(): AnswerSet {
    return this.answers
  }

  serveDNS(req: Request, w: ResponseWriter): void {
    const q = req.query
    // The hot path: a prepared answer for (qtype, qname), counted by a pre-bound handle when metrics are on.
    if (q.qclass === 1) {
      const hit = this.answers.get(q.qtype, q.qname)
      if (hit) {
        this.metrics?.countQuery(qtypeLabel(q.qtype), rcodeName(hit.rcode))
        if (this.relay && !this.isHome(req.client.address)) return this.answerForeign(req, w, hit)
        return w.prepared(hit, q.edns?.ecs ? this.echoScope0(req) : undefined)
      }
    }
    if (this.metrics) return this.counted(req, w, this.metrics)
    this.answer(req, w)
  }

  /**
   * RFC 7871 §7.2.1: a query with ECS gets it back with SCOPE 0: this DNS-LB's answer does not depend on the
   * client's subnet (it is the same for every client of a resolver), so a resolver may cache it for all of them.
   * The buffer is reused; it is valid until the next query (the writer copies it at once).
   */
  private echoScope0(req: Request): Buffer | undefined {
    const ecs = req.query.edns?.ecs
    return ecs ? this.echo.write(ecs, 0) : undefined
  }

  /**
   * A client other than this DNS-LB's own resolver: at the apex, perhaps a resolver DNS-B refers elsewhere that
   * tried this DNS-LB as its second NS (second-ns-relay.ts). (The lab's distance between POPs is added outside,
   * src/lab/foreign-delay.ts.)
   */
  private answerForeign(req: Request, w: ResponseWriter, hit: PreparedAnswer): void {
    const q = req.query
    // Another DNS-LB relaying: it must not be relayed again.
    const relay = this.relay
    if (!relay || isRelayed(q.edns) || (q.qtype !== RRType.A && q.qtype !== RRType.AAAA) || q.qname !== this.answers.inputs.origin) {
      return w.prepared(hit, this.echoScope0(req))
    }
    const send = (records: RR[] | null) => {
      const ecs = this.echoScope0(req)
      if (records) w.reply({rcode: Rcode.NOERROR, aa: true, answer: records}, ecs ? [ecs] : undefined)
      else w.prepared(hit, ecs)
    }
    const r = relay.answer(req.client.address, q.qtype)
    if (!(r instanceof Promise)) return send(r)
    void r.then(send)
  }

  // Off the hot path, counting wraps the writer: the rcode is whatever the answer carried.
  private counted(req: Request, w: ResponseWriter, m: RoleMetrics): void {
    const qtype = qtypeLabel(req.query.qtype)
    const count = (rcode: number) => m.countQuery(qtype, rcodeName(rcode))
    this.answer(req, {
      prepared: (a, extra) => (count(a.rcode), w.prepared(a, extra)),
      reply: (spec, options) => (count(spec.rcode), w.reply(spec, options)),
      raw: (message) => (count(message[3]! & 0xf), w.raw(message)),
      stream: (messages) => w.stream(messages),
      drop: () => w.drop(),
    })
  }

  private answer(req: Request, w: ResponseWriter): void {
    const {qname, qtype, qclass} = req.query
    const answers = this.answers
    if (qclass === 1) {
      const hit = answers.get(qtype, qname)
      if (hit) return w.prepared(hit, this.echoScope0(req))
    } else if (qclass !== 255) return w.reply({rcode: Rcode.REFUSED})
    if (!isSubdomain(qname, answers.zone.origin)) return w.reply({rcode: Rcode.REFUSED})
    if (qname === this.explainName) return this.explain(req, w)
    if (qtype === RRType.AXFR || qtype === RRType.IXFR) return w.reply({rcode: Rcode.REFUSED})
    const ecs = this.echoScope0(req)
    // Prepared answers carry class IN in their question; a class ANY query gets its answer encoded.
    if (qclass !== 1) return w.reply(answers.spec(qname, qtype), ecs ? [ecs] : undefined)
    const r = answers.lookup(qname, qtype)
    if (r instanceof PreparedAnswer) w.prepared(r, ecs)
    else w.reply(r, ecs ? [ecs] : undefined)
  }

  private explain(req: Request, w: ResponseWriter): void {
    if (!this.explainer.allows(req.client.address)) return w.reply({rcode: Rcode.REFUSED})
    if (qtypeIsNot(req.query.qtype, RRType.TXT)) return w.reply(this.answers.zone.nodata())
    const strings = this.explainer.explain()
    // TTL 0: an explanation is about this moment and must never be cached by a resolver in between.
    w.reply({rcode: Rcode.NOERROR, aa: true, answer: [{name: req.query.qname, type: RRType.TXT, ttl: 0, data: strings}]})
  }
}

/** Types counted by name in dns_queries_total; the rest are "OTHER" (label values stay a small set). */
const COUNTED_TYPES = new Set<number>([RRType.A, RRType.AAAA, RRType.NS, RRType.SOA, RRType.TXT, RRType.CNAME, RRType.MX, RRType.DS, RRType.ANY, 65])

function qtypeLabel(qtype: number): string {
  return COUNTED_TYPES.has(qtype) ? typeName(qtype) : 'OTHER'
}

function qtypeIsNot(qtype: number, wanted: number): boolean {
  return qtype !== wanted && qtype !== RRType.ANY
}
