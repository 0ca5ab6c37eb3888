// A DNS-LB asked by a resolver that DNS-B refers to another DNS-LB answers with that DNS-LB's choice.
//
// DNS-B names two DNS-LBs in each referral: the resolver's own and a second one for failover. Resolvers do not
// only use the second when the first is silent: BIND sends one query to every NS address it has not timed yet
// (a new address starts with a random 1-32 µs SRTT, so it wins once), and unbound picks at random among the NS
// within 400 ms of the fastest until it has RTTs. Answered with the second DNS-LB's own choice (the server
// nearest to *it*), that resolver's clients would be sent across the network for one answer TTL.
//
// So for such a query this DNS-LB asks DNS-B which DNS-LB the resolver is referred to (EDNS Client Subnet with the
// resolver's address, RFC 7871: the same lookup DNS-B makes for the resolver itself), and when DNS-B names another
// DNS-LB first and this one second, relays the question to it and answers with its records. When that DNS-LB does
// not answer (it is down: the reason a resolver fails over), this DNS-LB answers with its own choice and holds that
// DNS-LB back as a resolver's infra cache does (src/resolver/infra-cache.ts: 5 s, doubling per further failure). Relayed queries carry a private EDNS option and are never
// relayed again, so two DNS-LBs that disagree cannot loop. Off the query path: only queries from addresses other
// than this DNS-LB's own resolver come here, and every lookup and answer is cached and bounded.
import net from 'node:net'
import {LRUCache} from 'lru-cache'
import {buildQuery, exchange} from '../../dns/client.js'
import {Flag, Rcode, RRType} from '../../dns/wire/constants.js'
import type {Edns} from '../../dns/wire/edns.js'
import type {Message} from '../../dns/wire/reader.js'
import type {RR} from '../../dns/wire/writer.js'
import {ipv4Bytes, ipv6Bytes} from '../../dns/wire/writer.js'
import {InfraCache} from '../../resolver/infra-cache.js'
import type {ProblemLog} from './problem-log.js'

/** EDNS option code marking a query one DNS-LB relays to another (RFC 6891 §9: 65001-65534, local use). */
export const RELAYED_OPTION_CODE = 65_053
const RELAYED_OPTION = Buffer.from([RELAYED_OPTION_CODE >> 8, RELAYED_OPTION_CODE & 0xff, 0, 0])

/** True when a query was relayed by another DNS-LB: answer it with this DNS-LB's own choice. */
export function isRelayed(edns: Edns | null): boolean {
  if (!edns) return false
  for (const o of edns.options) if (o.code === RELAYED_OPTION_CODE) return true
  return false
}

export interface SecondNsRelayOptions {
  /** DNS-B servers to ask (all at once; the first reply is used). */
  dnsb: {addresses: string[]; port: number}
  /** This DNS-LB's zone: the load-balanced name DNS-B refers. */
  zone: string
  /** This DNS-LB's NS name in DNS-B's referrals (`<label>.<zone>`). */
  self: string
  /** This DNS-LB's own addresses: never relayed to. */
  selfAddresses: string[]
  /** The DNS port other DNS-LBs serve on (the same as this one's: resolvers reach them all on one port). */
  port: number
  /** Where relays and lookups are sent from (this DNS-LB's address). */
  source?: string
  /**
   * The longest wait for DNS-B or the other DNS-LB (default 300 ms: well inside BIND's 800 ms retry). A DNS-LB
   * that answered before is waited for SRTT + 4 RTTVAR (at least 50 ms) instead: a resolver comes here when its
   * own DNS-LB is silent, and must not wait for it twice.
   */
  timeoutMs?: number
  problems: ProblemLog
  /** Counts the answers to resolvers this DNS-LB is the second NS of: relayed, or its own (that DNS-LB was silent). */
  count?: (answer: 'relayed' | 'own') => void
}

/** Where DNS-B refers one resolver, as far as this DNS-LB needs it: the DNS-LB to relay to, or null (answer yourself). */
interface Home {
  address: string | null
}

/** Cache bounds: spoofed sources must not grow memory or flood DNS-B. */
const MAX_CLIENTS = 10_000
const MAX_LOOKUPS_IN_FLIGHT = 64
/** How long "DNS-B did not say" is remembered, so a DNS-B outage costs one timeout per resolver per period. */
const UNKNOWN_HOME_MS = 5_000
const MAX_HOME_MS = 60_000
const MIN_RELAY_TIMEOUT_MS = 50

export class SecondNsRelay {
  /** Per client, where DNS-B refers it, for the referral's TTL. */
  private readonly homes = new LRUCache<string, Home>({max: MAX_CLIENTS})
  private readonly lookups = new Map<string, Promise<string | null>>()
  /** Per DNS-LB and type, its last answer, for that answer's TTL. */
  private readonly answers = new LRUCache<string, RR[]>({max: MAX_CLIENTS})
  private readonly relays = new Map<string, Promise<RR[] | null>>()
  /** The other DNS-LBs' RTTs and failures: how long to wait for one, and whether it is held back. */
  private readonly infra = new InfraCache({holdMs: 5_000, maxHoldMs: 60_000})
  private readonly timeoutMs: number
  private readonly zoneLower: string
  private readonly selfLower: string

  constructor(private readonly o: SecondNsRelayOptions) {
    this.timeoutMs = o.timeoutMs ?? 300
    this.zoneLower = o.zone.toLowerCase()
    this.selfLower = o.self.toLowerCase()
  }

  /**
   * The records to answer `client`'s apex query of type `qtype` with: those of the DNS-LB DNS-B refers `client`
   * to, when this DNS-LB is only its second NS and that one answers; otherwise null (answer with your own choice).
   * Synchronous when the answer is known (a client this DNS-LB is first for costs a cache lookup); never rejects.
   */
  answer(client: string, qtype: number): RR[] | null | Promise<RR[] | null> {
    const home = this.homeOf(client)
    if (home === null) return null
    if (typeof home === 'string') return this.counted(this.relay(home, qtype))
    return home.then((h) => (h === null ? null : this.counted(this.relay(h, qtype)))).catch(() => null)
  }

  private counted(r: RR[] | null | Promise<RR[] | null>): RR[] | null | Promise<RR[] | null> {
    const count = (records: RR[] | null) => (this.o.count?.(records ? 'relayed' : 'own'), records)
    return r instanceof Promise ? r.then(count) : count(r)
  }

  // ---- which DNS-LB DNS-B refers the resolver to -----------------------------------------------------

  private homeOf(client: string): Promise<string | null> | string | null {
    const cached = this.homes.get(client)
    if (cached) return cached.address
    const pending = this.lookups.get(client)
    if (pending) return pending
    if (this.lookups.size >= MAX_LOOKUPS_IN_FLIGHT) return null
    const p = this.lookup(client).then(({home, ttlMs}) => {
      this.homes.set(client, home, {ttl: ttlMs})
      return home.address
    }).finally(() => this.lookups.delete(client))
    this.lookups.set(client, p)
    return p
  }

  private async lookup(client: string): Promise<{home: Home; ttlMs: number}> {
    const v4 = net.isIPv4(client)
    const ecs = {family: (v4 ? 4 : 6) as 4 | 6, sourceLen: v4 ? 32 : 128, scopeLen: 0, address: v4 ? ipv4Bytes(client) : ipv6Bytes(client)}
    const bs = this.o.dnsb.addresses
    // Every DNS-B at once, the first reply wins: a dead DNS-B must not add its timeout to a resolver's failover.
    try {
      const r = await Promise.any(bs.map((b) => exchange(b, buildQuery(this.o.zone, RRType.A, {rd: false, edns: {ecs}}), {port: this.o.dnsb.port, source: this.o.source, timeoutMs: this.timeoutMs})))
      this.o.problems.ok('relay-dnsb', 'second-NS relay: DNS-B answers again')
      return this.fromReferral(r.message)
    } catch {
      this.o.problems.fail('relay-dnsb', `second-NS relay: no DNS-B (${bs.join(', ')}) answered within ${this.timeoutMs} ms; resolvers that reach this DNS-LB get its own choice`)
      return {home: {address: null}, ttlMs: UNKNOWN_HOME_MS}
    }
  }

  /** Reads DNS-B's referral: relay only when it used the subnet and names another DNS-LB first and this one after. */
  private fromReferral(m: Message): {home: Home; ttlMs: number} {
    const own = {home: {address: null}, ttlMs: UNKNOWN_HOME_MS}
    // Without ECS in the reply DNS-B chose for this DNS-LB's own address, which says nothing about the resolver.
    if (m.rcode !== Rcode.NOERROR || !m.edns?.ecs) return own
    const ns = m.authorities.filter((r) => r.type === RRType.NS && r.name.toLowerCase() === this.zoneLower)
    if (ns.length === 0) return own // DNS-B answered itself (direct mode) or has no DNS-LB
    const ttlMs = Math.min(MAX_HOME_MS, Math.max(1, ns[0]!.ttl) * 1000)
    const names = ns.map((r) => String(r.data).toLowerCase())
    // This DNS-LB first: it is the resolver's own. Not named at all: the query came some other way (a person
    // with dig, an old referral); either way this DNS-LB's own answer is what was asked for.
    if (names[0] === this.selfLower || !names.includes(this.selfLower)) return {home: {address: null}, ttlMs}
    const glue = m.additionals.find((r) => (r.type === RRType.A || r.type === RRType.AAAA) && r.name.toLowerCase() === names[0])
    const address = glue ? String(glue.data) : null
    if (!address || this.o.selfAddresses.includes(address)) return {home: {address: null}, ttlMs}
    return {home: {address}, ttlMs}
  }

  // ---- asking that DNS-LB ------------------------------------------------------------------------------

  private relay(home: string, qtype: number): Promise<RR[] | null> | RR[] | null {
    if ((this.infra.stats(home, this.o.port)?.heldUntil ?? 0) > performance.now()) return null
    const key = `${home}|${qtype}`
    const cached = this.answers.get(key)
    // With the TTL left, as a cache would: a relayed answer must not outlive the one the other DNS-LB gave.
    const left = Math.floor(this.answers.getRemainingTTL(key) / 1000)
    if (cached && left >= 1) return cached.map((r) => ({...r, ttl: left}))
    const pending = this.relays.get(key)
    if (pending) return pending
    const p = this.ask(home, qtype).finally(() => this.relays.delete(key))
    this.relays.set(key, p)
    return p
  }

  private async ask(home: string, qtype: number): Promise<RR[] | null> {
    const port = this.o.port
    const query = buildQuery(this.o.zone, qtype, {rd: false, edns: {options: [RELAYED_OPTION]}})
    const timeoutMs = this.infra.timeoutFor(home, port, {minMs: MIN_RELAY_TIMEOUT_MS, maxMs: this.timeoutMs})
    let m: Message
    try {
      const r = await exchange(home, query, {port, source: this.o.source, timeoutMs})
      this.infra.recordReply(home, port, r.rttMs)
      m = r.message
    } catch {
      this.infra.recordFailure(home, port)
      this.o.problems.fail(`relay-${home}`, `second-NS relay: DNS-LB ${home} did not answer within ${Math.round(timeoutMs)} ms; its resolvers get this DNS-LB's own choice until it answers again`)
      return null
    }
    this.o.problems.ok(`relay-${home}`, `second-NS relay: DNS-LB ${home} answers again`)
    if (m.rcode !== Rcode.NOERROR || !(m.header.flags & Flag.AA)) return null
    const records: RR[] = m.answers
      .filter((r) => r.type === qtype && r.name.toLowerCase() === this.zoneLower)
      .map((r) => ({name: this.o.zone, type: r.type, ttl: r.ttl, data: String(r.data)}))
    if (records.length === 0) return null
    const ttl = Math.min(...records.map((r) => r.ttl))
    if (ttl > 0) this.answers.set(`${home}|${qtype}`, records, {ttl: ttl * 1000})
    return records
  }
}
