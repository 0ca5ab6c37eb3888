// The iterative resolver: from start servers down the referrals to the authoritative answer, hop by hop.
import {isIPv4, isIPv6} from 'node:net'
import {buildQuery, exchange, ExchangeError} from '../dns/client.js'
import {dnssecSeen, isDnssecOnly} from './dnssec-seen.js'
import {EdnsOption, Flag, OUR_UDP_SIZE, Rcode, RRType, rcodeName, typeName} from '../dns/wire/constants.js'
import {canonicalName, isSubdomain, labelCount} from '../dns/wire/name.js'
import type {ClientSubnet} from '../dns/wire/edns.js'
import type {RR} from '../dns/wire/writer.js'
import {subnetText} from './client-subnet.js'
import type {Hop, HopKind} from './hop.js'
import {hopReferral, readResponse, type Delegation, type NameServer, type Reading} from './read-response.js'
import {InfraCache} from './infra-cache.js'
import type {FailureKind, Resolution} from './resolution.js'
import {ResolverCache} from './resolver-cache.js'

export interface ResolverOptions {
  /** Addresses to start from: the lab root (or DNS-A) in a lab, root hints otherwise. */
  startServers: string[]
  /** The zone the start servers serve (default the root). */
  startZone?: string
  /** Port of every server asked, start servers and servers learned from referrals alike (labs on high ports). */
  port?: number
  /** Local address every query is sent from (what DNS-B sees as the resolver). */
  source?: string
  /**
   * Several local addresses, one family, taken in turn per query (a resolver farm's egress; DNS-B sees each).
   * Overrides `source` for sending; `source` (default the first of these) still sets the family.
   */
  sources?: string[]
  /** RFC 9156 qname minimisation (default on). */
  qnameMinimisation?: boolean
  /** Type of the minimised queries: A like unbound and PowerDNS (default), or NS like BIND and Knot. */
  minimiseType?: 'A' | 'NS'
  /**
   * Longest wait for one reply, ms (default 1500): for a server whose RTT is unknown or that failed to answer
   * a shorter wait. The usual wait is adaptive (SRTT + 4 RTTVAR, see InfraCache) within [min, this].
   */
  queryTimeoutMs?: number
  /** Shortest wait for one reply, ms (default 200): how soon a known-fast server is declared silent. */
  minQueryTimeoutMs?: number
  /** Whole resolution, ms (default 10 000). */
  timeLimitMs?: number
  /** Queries one resolution may send, sub-resolutions included (default 64). */
  maxQueries?: number
  /** CNAMEs followed (default 8). */
  maxCnameChain?: number
  /** How deep resolutions of glue-less NS names may nest (default 3). */
  maxDepth?: number
  /** Ask for NSID on each query (default true). */
  nsid?: boolean
  /** EDNS Client Subnet (RFC 7871) sent on every query; each hop shows the scope the server returned. */
  ecs?: ClientSubnet
  /**
   * Ask with DO=1 and note on each hop the RRSIGs, NSECs and DS it carried (`glb trace --dnssec`). The records
   * are not validated and RRSIG/NSEC are set aside before the reply is read, so the resolution is the same.
   */
  dnssec?: boolean
  cache?: ResolverCache
  /** Per-server RTTs and failure hold-downs; shared by every resolve() of this resolver when not given. */
  infra?: InfraCache
  onHop?: (hop: Hop) => void
}

/** A failure that ends the resolution (caught in resolve()). */
class ResolveFailure extends Error {
  constructor(readonly kind: FailureKind, message: string) {
    super(message)
  }
}

interface Ctx {
  started: number
  deadline: number
  queries: number
  hops: Hop[]
  /** NS names whose addresses are being resolved (loop detection). */
  active: string[]
  depth: number
  /** Set when any query was sent. */
  sent: boolean
  /** The shared cache, or one for this resolution only (so a CNAME target starts at the closest known zone). */
  cache: ResolverCache
  /** A prefetch: chain links with less than this share of their TTL left are asked again (0: none). */
  refreshRatio: number
}

/** A cache hit, with what the hit path needs to know: a link is due for prefetch, or one is stale. */
export type CachedResolution = Resolution & {prefetch?: boolean; stale?: boolean}

/** True when a cached entry has at most `ratio` of its TTL left. */
function due(c: {ttl: number; leftMs: number}, ratio: number): boolean {
  return c.leftMs <= ratio * c.ttl * 1000
}

type Final =
  | {kind: 'answer'; records: RR[]; by?: Resolution['answeredBy']}
  | {kind: 'nodata'; soa: RR[]; by?: Resolution['answeredBy']}
  | {kind: 'nxdomain'; soa: RR[]; records: RR[]; by?: Resolution['answeredBy']}

/** One server's failure to help, kept for the message when every server of a zone failed. */
interface Problem {
  kind: 'timeout' | 'network' | 'lame' | 'loop' | 'servfail'
  text: string
  /** The failure of a sub-resolution (an NS address), reported as is when it is the only problem. */
  cause?: ResolveFailure
  /** For a timeout: the server and how long we waited (a shorter wait than the longest is tried again). */
  server?: {address: string; nsName?: string}
  waitedMs?: number
}

const NSID_OPTION = Buffer.from([0, EdnsOption.NSID, 0, 0])

/** Errors that say this host cannot reach a whole address family, not that one server is down. */
const FAMILY_UNREACHABLE = new Set(['ENETUNREACH', 'EADDRNOTAVAIL', 'EAFNOSUPPORT'])

/**
 * Resolves names iteratively like a recursive resolver's core: follows referrals (NS + in-bailiwick glue,
 * resolving glue-less NS names itself), CNAME chains, and stops at the authoritative answer. Asks the servers
 * of an NS set best first by the infra cache (RTT, failures) and moves on after timeouts, errors and lame
 * replies; bounds queries, depth and time.
 */
export class IterativeResolver {
  readonly options: Required<Omit<ResolverOptions, 'source' | 'sources' | 'cache' | 'infra' | 'onHop' | 'ecs'>> & Pick<ResolverOptions, 'source' | 'sources' | 'cache' | 'onHop' | 'ecs'>
  /** Server selection state, kept across resolutions. */
  readonly infra: InfraCache
  /**
   * Address families this host cannot send to (no route, no address of that family): learnt from the first
   * query that fails locally, then skipped, so a host without IPv6 pays once, not once per IPv6 server.
   */
  private readonly unreachable = new Set<4 | 6>()
  /** The next of options.sources to send from. */
  private nextSource = 0

  constructor(o: ResolverOptions) {
    if (o.startServers.length === 0) throw new Error('the resolver needs at least one start server')
    const {infra, ...rest} = o
    this.options = {
      startZone: '.', port: 53, qnameMinimisation: true, minimiseType: 'A', queryTimeoutMs: 1500, minQueryTimeoutMs: 200,
      timeLimitMs: 10_000, maxQueries: 64, maxCnameChain: 8, maxDepth: 3, nsid: true, ...rest, dnssec: rest.dnssec ?? false,
    }
    this.options.startZone = canonicalName(this.options.startZone)
    if (this.options.sources?.length && !this.options.source) this.options.source = this.options.sources[0]
    this.options.minQueryTimeoutMs = Math.min(this.options.minQueryTimeoutMs, this.options.queryTimeoutMs)
    this.infra = infra ?? new InfraCache()
  }

  /**
   * Resolves (name, type). Never throws for DNS failures: they come back as status 'failed' with a reason.
   * `refreshRatio` (a prefetch): links of the CNAME chain cached with less than this share of their TTL left
   * are asked again instead of being read from the cache.
   */
  async resolve(name: string, type: number, o: {refreshRatio?: number} = {}): Promise<Resolution> {
    const qname = canonicalName(name)
    const started = performance.now()
    const cache = this.options.cache ?? new ResolverCache({maxEntries: 1000})
    const ctx: Ctx = {started, deadline: started + this.options.timeLimitMs, queries: 0, hops: [], active: [], depth: 0, sent: false, cache, refreshRatio: o.refreshRatio ?? 0}
    const base = {qname, qtype: type, hops: ctx.hops}
    try {
      const r = await this.chase(ctx, qname, type)
      const status = r.final.kind
      return {
        ...base,
        status,
        rcode: status === 'nxdomain' ? Rcode.NXDOMAIN : Rcode.NOERROR,
        answer: r.answer,
        authority: r.final.kind === 'answer' ? [] : r.final.soa,
        answeredBy: r.final.by,
        fromCache: !ctx.sent,
        queries: ctx.queries,
        elapsedMs: performance.now() - started,
      }
    } catch (err) {
      if (!(err instanceof ResolveFailure)) throw err
      return {
        ...base, status: 'failed', rcode: Rcode.SERVFAIL, answer: [], authority: [],
        failure: {kind: err.kind, message: err.message}, fromCache: false, queries: ctx.queries,
        elapsedMs: performance.now() - started,
      }
    }
  }

  /**
   * The answer to (name, type) when the shared cache holds all of it (the whole CNAME chain and the final
   * RRset or negative answer), else undefined. Sends nothing; a recursive server's hit path.
   * - `prefetchRatio`: `prefetch` is set when a link of the chain is in the last `prefetchRatio` of its TTL
   *   (unbound's `prefetch: yes` uses 10 %): time to refresh it in the background, before clients miss.
   * - `stale`: expired links still kept for serve-stale (RFC 8767) are used too; `stale` is set if one was.
   */
  fromCache(name: string, type: number, o: {prefetchRatio?: number; stale?: boolean} = {}): CachedResolution | undefined {
    const cache = this.options.cache
    if (!cache) return undefined
    const qname = canonicalName(name)
    const answer: RR[] = []
    const seen = new Set<string>([qname])
    let current = qname
    let prefetch = false
    let stale = false
    for (let links = 0; links <= this.options.maxCnameChain; links++) {
      const c = cache.lookup(current, type, o)
      if (!c) return undefined
      if (c.leftMs <= 0) stale = true
      else if (o.prefetchRatio && due(c, o.prefetchRatio)) prefetch = true
      const walk = walkChain(c.kind === 'answer' ? c.records : [], current, type, seen)
      if (walk.loop) return undefined
      answer.push(...walk.chain)
      const done = (status: Resolution['status'], authority: RR[]): CachedResolution => ({
        qname, qtype: type, status, rcode: status === 'nxdomain' ? Rcode.NXDOMAIN : Rcode.NOERROR, answer, authority,
        fromCache: true, queries: 0, elapsedMs: 0, hops: [], ...(prefetch ? {prefetch} : {}), ...(stale ? {stale} : {}),
      })
      if (c.kind !== 'answer') return done(c.kind, c.soa)
      if (walk.final.length) {
        answer.push(...walk.final)
        return done('answer', [])
      }
      if (walk.next === undefined) return undefined
      current = walk.next
    }
    return undefined
  }

  /** Follows the CNAME chain from `name`, resolving each link from the cache or iteratively. */
  private async chase(ctx: Ctx, name: string, type: number): Promise<{answer: RR[]; final: Final}> {
    const answer: RR[] = []
    const seen = new Set<string>([name])
    let current = name
    for (let links = 0; ; links++) {
      if (links > this.options.maxCnameChain) {
        throw new ResolveFailure('loop', `CNAME chain from ${name} longer than ${this.options.maxCnameChain} links`)
      }
      const fresh = ctx.cache.lookup(current, type)
      const cached = fresh && ctx.depth === 0 && ctx.refreshRatio && due(fresh, ctx.refreshRatio) ? undefined : fresh
      const step: Final = cached
        ? (cached.kind === 'nxdomain' ? {...cached, records: []} : cached)
        : await this.resolveName(ctx, current, type)
      const walk = walkChain(step.kind === 'nodata' ? [] : step.records, current, type, seen)
      if (walk.loop) throw new ResolveFailure('loop', `CNAME loop: ${walk.loop} points back into the chain from ${name}`)
      answer.push(...walk.chain)
      if (step.kind !== 'answer') return {answer, final: step}
      if (walk.final.length) {
        answer.push(...walk.final)
        return {answer, final: step}
      }
      if (walk.next === undefined) return {answer, final: {kind: 'nodata', soa: [], by: step.by}}
      current = walk.next // the chain leaves what this server answered: resolve the target from the top
    }
  }

  /** Iterates from the closest known delegation to the authoritative answer for (target, type). */
  private async resolveName(ctx: Ctx, target: string, type: number): Promise<Final> {
    let {zone, servers} = this.startFor(ctx, target)
    let minimise = this.options.qnameMinimisation
    let extra = 1
    for (;;) {
      let askName = target
      let askType = type
      let minimised = false
      if (minimise && labelCount(zone) + extra < labelCount(target)) {
        askName = ancestorWithLabels(target, labelCount(zone) + extra)
        askType = this.options.minimiseType === 'NS' ? RRType.NS : RRType.A
        minimised = true
      }
      const got = await this.askZone(ctx, zone, servers, target, askName, askType, minimised)
      if (got === 'fallback') {
        // RFC 9156 §2.3: a minimised query met an error or NXDOMAIN: ask the full name from here on.
        minimise = false
        continue
      }
      const {reading, by} = got
      switch (reading.kind) {
        case 'referral':
          zone = reading.delegation.zone
          servers = reading.delegation.servers
          extra = 1
          continue
        case 'answer':
        case 'nodata':
          if (minimised) {
            extra++ // no zone cut at askName: go one label deeper on the same servers
            continue
          }
          if (reading.kind === 'answer') return {kind: 'answer', records: reading.records, by}
          ctx.cache.putNegative(target, type, 'nodata', reading.soa, reading.ttl)
          return {kind: 'nodata', soa: reading.soa, by}
        case 'nxdomain':
          // Unreachable for minimised queries (askZone turns those into a fallback).
          return {kind: 'nxdomain', soa: reading.soa, records: reading.records, by}
        default:
          throw new Error(`unexpected reading ${reading.kind}`)
      }
    }
  }

  private startFor(ctx: Ctx, target: string): {zone: string; servers: NameServer[]} {
    const cached = ctx.cache.findDelegation(target)
    const start = {
      zone: isSubdomain(target, this.options.startZone) ? this.options.startZone : '.',
      servers: this.options.startServers.map((a) => ({addresses: [a]})),
    }
    if (cached && isSubdomain(cached.zone, start.zone) && cached.zone !== start.zone) return cached
    return start
  }

  /**
   * Asks the servers of `zone` in turn until one gives a usable reply (answer, negative answer, referral
   * strictly deeper). Glued servers first, best first by the infra cache (servers held back after failures
   * last); glue-less NS names are resolved only if those all fail. When none answered, the servers that timed
   * out within a shorter wait than the longest are asked once more with the longest.
   */
  private async askZone(ctx: Ctx, zone: string, servers: NameServer[], target: string, qname: string, qtype: number, minimised: boolean): Promise<{reading: Reading; by: Resolution['answeredBy']} | 'fallback'> {
    const problems: Problem[] = []
    const tried = new Set<string>()
    const port = this.options.port
    const bounds = {minMs: this.options.minQueryTimeoutMs, maxMs: this.options.queryTimeoutMs}
    const tryServer = async (address: string, nsName: string | undefined) => {
      if (tried.has(address) || !this.usable(address)) return undefined
      tried.add(address)
      const timeoutMs = this.infra.timeoutFor(address, port, bounds)
      return this.ask(ctx, {address, nsName, zone, target, qname, qtype, minimised, timeoutMs}, problems)
    }
    const glued = servers.flatMap((s) => s.addresses.map((address) => ({address, nsName: s.name})))
    for (const c of this.infra.order(glued, (c) => c.address, port)) {
      const r = await tryServer(c.address, c.nsName)
      if (r) return r
    }
    for (const s of servers) {
      if (s.addresses.length > 0 || !s.name) continue
      let addresses: string[]
      try {
        addresses = await this.addressesOf(ctx, s.name)
      } catch (err) {
        if (!(err instanceof ResolveFailure)) throw err
        if (err.kind === 'time-limit' || err.kind === 'query-limit') throw err
        problems.push({kind: err.kind === 'loop' ? 'loop' : 'lame', text: `${s.name} has no usable address (${err.message})`, cause: err})
        continue
      }
      if (addresses.length === 0) problems.push({kind: 'lame', text: `${s.name} has no address`})
      for (const a of this.infra.order(addresses, (a) => a, port)) {
        const r = await tryServer(a, s.name)
        if (r) return r
      }
    }
    // Nobody answered: a short adaptive wait may have been too short for a server that is only slow now.
    const again = problems.filter((p) => p.kind === 'timeout' && p.server && p.waitedMs! < bounds.maxMs)
    for (const p of again) {
      problems.splice(problems.indexOf(p), 1)
      const r = await this.ask(ctx, {...p.server!, zone, target, qname, qtype, minimised, timeoutMs: bounds.maxMs}, problems)
      if (r) return r
    }
    if (problems.length === 0) {
      throw new ResolveFailure('lame', `no usable server address for ${zone} (servers: ${servers.map((s) => s.name ?? s.addresses.join(' ')).join(', ')})`)
    }
    throw failureOf(zone, qname, problems)
  }

  /** One query to one server; returns the reading when usable, or records the problem and returns undefined. */
  private async ask(ctx: Ctx, q: {address: string; nsName?: string; zone: string; target: string; qname: string; qtype: number; minimised: boolean; timeoutMs: number}, problems: Problem[]): Promise<{reading: Reading; by: Resolution['answeredBy']} | 'fallback' | undefined> {
    const remaining = ctx.deadline - performance.now()
    if (remaining <= 0) {
      throw new ResolveFailure('time-limit', `gave up after ${this.options.timeLimitMs} ms (time limit) while asking ${q.zone} servers for ${q.qname}`)
    }
    if (ctx.queries >= this.options.maxQueries) {
      throw new ResolveFailure('query-limit', `gave up after ${this.options.maxQueries} queries (query limit) while asking ${q.zone} servers for ${q.qname}`)
    }
    ctx.queries++
    ctx.sent = true
    const timeoutMs = Math.max(1, Math.min(q.timeoutMs, remaining))
    const query = buildQuery(q.qname, q.qtype, {rd: false, edns: {udpSize: OUR_UDP_SIZE, do: this.options.dnssec === true, options: this.options.nsid ? [NSID_OPTION] : [], ...(this.options.ecs ? {ecs: this.options.ecs} : {})}})
    const who = q.nsName ? `${q.address} (${q.nsName})` : q.address
    const hop: Hop = {
      seq: ctx.hops.length + 1, depth: ctx.depth, target: q.target, server: q.address, port: this.options.port,
      ...(q.nsName ? {nsName: q.nsName} : {}), zone: q.zone, qname: q.qname, qtype: typeName(q.qtype),
      minimised: q.minimised, transport: 'udp', kind: 'error', flags: [],
    }
    const emit = () => {
      ctx.hops.push(hop)
      this.options.onHop?.(hop)
    }
    let res
    try {
      const sources = this.options.sources
      const source = sources?.length ? sources[this.nextSource++ % sources.length] : this.options.source
      res = await exchange(q.address, query, {port: this.options.port, source, timeoutMs, tcpFallback: true})
    } catch (err) {
      if (!(err instanceof ExchangeError)) throw err
      hop.kind = err.kind === 'timeout' ? 'timeout' : 'error'
      hop.note = err.message
      emit()
      if (err.kind === 'timeout' && timeoutMs < q.timeoutMs && performance.now() >= ctx.deadline - 1) {
        // The wait was cut short by the resolution's own deadline: that, not the server, is what ended it.
        throw new ResolveFailure('time-limit', `gave up after ${this.options.timeLimitMs} ms (time limit) while asking ${q.zone} servers for ${q.qname} (last: ${who})`)
      }
      this.infra.recordFailure(q.address, this.options.port)
      if (err.code && FAMILY_UNREACHABLE.has(err.code)) this.unreachable.add(isIPv6(q.address) ? 6 : 4)
      problems.push(err.kind === 'timeout'
        ? {kind: 'timeout', text: `${who} did not answer within ${Math.round(timeoutMs)} ms`, server: {address: q.address, nsName: q.nsName}, waitedMs: timeoutMs}
        : {kind: err.kind === 'malformed' ? 'lame' : 'network', text: `${who}: ${err.message}`})
      return undefined
    }
    let ednsProblem: string | undefined
    if (res.message.rcode === Rcode.FORMERR && !res.message.edns && performance.now() < ctx.deadline && ctx.queries < this.options.maxQueries) {
      // RFC 6891 §7: FORMERR without an OPT says the server does not do EDNS: ask it again without.
      ednsProblem = 'FORMERR to a query with EDNS (no OPT in the reply): asked again without EDNS'
      ctx.queries++
      try {
        res = await exchange(q.address, buildQuery(q.qname, q.qtype, {rd: false, edns: false}), {port: this.options.port, source: this.options.source, timeoutMs, tcpFallback: true})
      } catch (err) {
        if (!(err instanceof ExchangeError)) throw err
        ednsProblem = `FORMERR to a query with EDNS; without EDNS: ${err.message}`
      }
    } else if (res.message.rcode === Rcode.BADVERS) {
      ednsProblem = 'BADVERS to an EDNS version 0 query'
    } else if (!res.message.edns) {
      ednsProblem = 'no OPT in the reply to a query with EDNS (RFC 6891 §7)'
    }
    let m = res.message
    if (this.options.dnssec) {
      // DNSSEC records are noted on the hop and set aside: what is left reads exactly as a DO=0 reply would.
      const plain = {...m, answers: m.answers.filter((r) => !isDnssecOnly(r)), authorities: m.authorities.filter((r) => !isDnssecOnly(r))}
      const first = readResponse(plain, q.zone, q.qname)
      hop.dnssec = dnssecSeen(m, first.kind === 'referral' ? first.delegation.zone : undefined)
      m = plain
    }
    this.infra.recordReply(q.address, this.options.port, res.rttMs)
    if (ednsProblem) hop.ednsProblem = ednsProblem
    if (m.edns?.ecs) hop.ecs = {subnet: subnetText(m.edns.ecs), scope: m.edns.ecs.scopeLen}
    hop.transport = res.transport
    hop.rttMs = Math.round(res.rttMs * 100) / 100
    hop.rcode = rcodeName(m.rcode)
    hop.flags = flagNames(m.header.flags)
    const nsid = m.edns?.options.find((o) => o.code === EdnsOption.NSID)
    if (nsid && nsid.data.length) hop.nsid = printable(nsid.data)
    if (res.transport === 'tcp') hop.note = 'truncated over UDP (TC): asked again over TCP'
    const reading = readResponse(m, q.zone, q.qname)
    hop.kind = reading.kind as HopKind
    const by = {server: q.address, zone: q.zone, ...(hop.nsid ? {nsid: hop.nsid} : {})}
    switch (reading.kind) {
      case 'referral': {
        const d: Delegation = reading.delegation
        hop.referral = hopReferral(d)
        hop.ttl = d.ttl
        if (d.ignoredGlue.length) hop.note = `ignored out-of-zone glue: ${d.ignoredGlue.join(', ')}`
        ctx.cache.putRecords(d.records.filter((r) => r.type === RRType.NS), 'referral')
        ctx.cache.putRecords(d.records.filter((r) => r.type !== RRType.NS), 'glue')
        emit()
        return {reading, by}
      }
      case 'answer':
        hop.answer = reading.records
        hop.ttl = reading.ttl
        if (reading.ignored.length) hop.note = `ignored out-of-zone records: ${reading.ignored.join(', ')}`
        ctx.cache.putRecords(reading.records, 'answer')
        emit()
        return {reading, by}
      case 'nodata':
        hop.authority = reading.soa
        hop.ttl = reading.ttl
        emit()
        return {reading, by}
      case 'nxdomain':
        hop.answer = reading.records.length ? reading.records : undefined
        hop.authority = reading.soa
        hop.ttl = reading.ttl
        if (q.minimised) {
          hop.note = 'NXDOMAIN to a minimised query: asking the full name (RFC 9156 §2.3)'
          emit()
          return 'fallback'
        }
        ctx.cache.putRecords(reading.records, 'answer')
        ctx.cache.putNegative(lastName(q.qname, reading.records), q.qtype, 'nxdomain', reading.soa, reading.ttl)
        emit()
        return {reading, by}
      case 'rcode':
        if (q.minimised) {
          hop.note = `${rcodeName(reading.rcode)} to a minimised query: asking the full name (RFC 9156 §2.3)`
          emit()
          return 'fallback'
        }
        hop.note = `${rcodeName(reading.rcode)}: trying another server`
        emit()
        problems.push({kind: reading.rcode === Rcode.REFUSED || reading.rcode === Rcode.NOTAUTH ? 'lame' : 'servfail', text: `${who} answered ${rcodeName(reading.rcode)}`})
        return undefined
      case 'lame':
      case 'loop':
        hop.note = reading.reason
        if (m.answers.length) hop.answer = m.answers.map((r) => ({name: r.name, type: r.type, ttl: r.ttl, data: r.data ?? Buffer.from(r.rdata)}))
        emit()
        problems.push({kind: reading.kind, text: `${who} ${reading.reason}`})
        return undefined
    }
  }

  /** Resolves the addresses of a name server that came without usable glue. */
  private async addressesOf(ctx: Ctx, host: string): Promise<string[]> {
    if (ctx.active.includes(host)) {
      throw new ResolveFailure('loop', `delegation loop: finding ${[...ctx.active, host].join(' -> ')}: a name server without glue whose address lies behind itself`)
    }
    if (ctx.depth >= this.options.maxDepth) {
      throw new ResolveFailure('lame', `glue-less name servers nested deeper than ${this.options.maxDepth} (at ${host})`)
    }
    ctx.active.push(host)
    ctx.depth++
    try {
      const types = this.options.source && isIPv6(this.options.source) ? [RRType.AAAA] : [RRType.A]
      const out: string[] = []
      for (const t of types) {
        const r = await this.chase(ctx, host, t)
        out.push(...r.answer.filter((rr) => rr.type === t).map((rr) => rr.data as string))
      }
      return out
    } finally {
      ctx.active.pop()
      ctx.depth--
    }
  }

  /** A server address is usable when it is of the source address's family (any family without a source). */
  private usable(address: string): boolean {
    const s = this.options.source
    const family = isIPv4(address) ? 4 : isIPv6(address) ? 6 : 0
    if (family === 0 || this.unreachable.has(family)) return false
    if (!s) return true
    return isIPv4(s) ? isIPv4(address) : isIPv6(address)
  }
}

/** Builds the one-line failure for a zone whose every server failed, naming each server and its problem. */
function failureOf(zone: string, qname: string, problems: Problem[]): ResolveFailure {
  if (problems.length === 1 && problems[0]!.cause) return problems[0]!.cause
  const list = problems.map((p) => p.text).join('; ')
  const about = qname === zone ? '' : ` for ${qname}`
  if (problems.some((p) => p.kind === 'loop')) return new ResolveFailure('loop', `referral loop at ${zone}${about}: ${list}`)
  if (problems.some((p) => p.kind === 'lame')) return new ResolveFailure('lame', `lame delegation: no server of ${zone} answers${about}: ${list}`)
  if (problems.some((p) => p.kind === 'servfail')) return new ResolveFailure('servfail', `every server of ${zone} failed${about}: ${list}`)
  if (problems.every((p) => p.kind === 'network')) return new ResolveFailure('network', `could not reach the servers of ${zone}${about}: ${list}`)
  return new ResolveFailure('timeout', `no answer from the servers of ${zone}${about}: ${list}`)
}

/**
 * Walks a CNAME chain through `records` from `start`: the CNAMEs passed, then either the RRset of `type`
 * at the chain's end (final) or the name the chain leads to outside these records (next).
 */
function walkChain(records: RR[], start: string, type: number, seen: Set<string>): {chain: RR[]; final: RR[]; next?: string; loop?: string} {
  const chain: RR[] = []
  let name = start
  for (;;) {
    const final = records.filter((r) => r.name === name && (r.type === type || type === RRType.ANY))
    if (final.length) return {chain, final}
    const cname = type === RRType.CNAME ? undefined : records.find((r) => r.name === name && r.type === RRType.CNAME)
    if (!cname) return {chain, final: [], ...(chain.length ? {next: name} : {})}
    chain.push(cname)
    name = cname.data as string
    if (seen.has(name)) return {chain, final: [], loop: name}
    seen.add(name)
  }
}

/** The name an NXDOMAIN is about: the end of the CNAME chain in the answer, else the name asked. */
function lastName(qname: string, records: RR[]): string {
  let name = qname
  for (let i = 0; i < records.length; i++) {
    const c = records.find((r) => r.name === name && r.type === RRType.CNAME)
    if (!c) break
    name = c.data as string
  }
  return name
}

function ancestorWithLabels(name: string, labels: number): string {
  const parts = name.split('.').filter(Boolean)
  return parts.slice(parts.length - labels).join('.') + '.'
}

function flagNames(flags: number): string[] {
  const out: string[] = []
  for (const [n, bit] of [['qr', Flag.QR], ['aa', Flag.AA], ['tc', Flag.TC], ['rd', Flag.RD], ['ra', Flag.RA], ['ad', Flag.AD], ['cd', Flag.CD]] as const) {
    if (flags & bit) out.push(n)
  }
  return out
}

function printable(b: Buffer): string {
  return [...b].map((c) => (c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : '.')).join('')
}
