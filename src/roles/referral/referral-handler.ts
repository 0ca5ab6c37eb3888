// DNS-B's Handler: per-resolver referrals to DNS-LBs, whoami, direct answers, registrations (UPDATE) and AXFR.
//
// Query path for a load-balanced name N (the hot path): read the resolver's address (or the ECS subnet, from
// sources listed in ecsFrom only), one longest-prefix lookup, pick the mapped DNS-LB and a second one, then a Map get of the PreparedAnswer
// for (qtype, N, LB pair) and w.prepared(). Referrals are built on first use and dropped when a DNS-LB's
// addresses change (store.addressVersion); direct answers also when measurements change. A renewal that
// changes nothing keeps them. Only whoami, negative answers and names below N are encoded per query.
import {isIPv4} from 'node:net'
import type {Handler, Request, ResponseWriter} from '../../dns/handler.js'
import {encodeResponse, PreparedAnswer, type ResponseSpec} from '../../dns/response.js'
import {findTsigOffset, signResponse, TSIG_FORMERR, tsigErrorResponse, verify, type VerifyOk} from '../../dns/tsig/tsig.js'
import {createStreamSigner} from '../../dns/tsig/tsig-stream.js'
import type {Keyring} from '../../dns/tsig/tsig-keyring.js'
import {EcsEcho} from '../../dns/wire/ecs-echo.js'
import {OUR_UDP_SIZE, Opcode, Rcode, RRType} from '../../dns/wire/constants.js'
import {isSubdomain} from '../../dns/wire/name.js'
import type {SoaData} from '../../dns/wire/reader.js'
import type {RR} from '../../dns/wire/writer.js'
import {parseAddress, parseIPv4, parseIPv6Into, parsePrefix, prefixContains, type Address, type Prefix} from '../../mapping/index.js'
import {Zone, type ZoneRecord} from '../authority/zone.js'
import {canonicalRdata} from '../update/canonical-rdata.js'
import type {StoredRR} from '../update/update-processor.js'
import {UpdateResponder, type UpdateOutcome} from '../update/update-responder.js'
import {bestServer} from './direct-choice.js'
import type {Pool} from './pool-mirror.js'
import {resolveName, type ReferralState} from './referral-state.js'
import type {RegistrationStore} from './registration-store.js'
import {buildTransferMessages} from './zone-transfer.js'

export interface ReferralHandlerOptions {
  /** Keys for UPDATE and AXFR signatures (a function: reloads may change them). */
  keyring(): Keyring
  /** Makes the store's applied changes durable (group commit); UPDATE replies wait for it. */
  commit(): Promise<void>
  /** Unix seconds (fractions allowed); tests move time with it. */
  now?(): number
  onUpdate?(outcome: UpdateOutcome): void
}

interface Cached {
  p: PreparedAnswer
  until: number
}

const MAX_CACHED = 20_000

/** The DNS-B handler. One per server; setState() on reload, setPools() when DNS-A's pools change. */
export class ReferralHandler implements Handler {
  private state!: ReferralState
  private zone!: Zone
  private names: string[] = []
  private nameIndex = new Map<string, number>()
  private nameLabels: string[] = [] // "." + N, for the below-N test
  private poolAddrs: (Set<string> | null)[] = []
  private pools: ReadonlyMap<string, Pool> = new Map()
  private whoamiName = ''
  private whoamiSuffix = ''
  private transferPrefixes: Prefix[] = []
  /** Prepared referrals per load-balanced name (index), keyed by referralKey(qtype, LB pair). */
  private referrals: Map<number | string, PreparedAnswer>[] = []
  private referralCount = 0
  // Referrals given per DNS-LB id (the one named first); read by referralsByLb() for metrics, off the query path.
  private readonly referred: number[] = []
  private directCache = new Map<string, Cached>()
  private staticCache = new Map<string, PreparedAnswer>()
  private addressVersion = -1
  private measurementVersion = -1
  private readonly scratch = new Uint8Array(16)
  private readonly echo = new EcsEcho()
  /** Sources whose ECS is honoured (state ecsFrom). */
  private ecsFrom: Prefix[] = []
  // Whether the last IPv4 client checked against ecsFrom is in it: a resolver sends many queries in a row.
  private lastEcsClient = -1
  private lastEcsTrusted = false
  private readonly now: () => number
  private readonly updates: UpdateResponder
  // LB ids of the state's labels (static LBs, backup, noMapping lb), looked up once per address version, not
  // per query: an id never changes once a label is registered, but a label may be registered later.
  private staticIds: number[] = []
  private backupId = -1
  private noMappingId = -1
  // Per LB id, which names it serves (1 at a name's index), from its `<label>.lbs` TXT; null: it declared none, so
  // every name. Rebuilt with the referrals (a declaration moves store.addressVersion), read per query.
  private lbNames: (Uint8Array | null)[] = []
  /** The name being answered (an index into names): the pick only takes DNS-LBs that serve it. */
  private nameIdx = 0
  // The last client address text and what it parsed to: a resolver sends many queries in a row.
  private lastClient = ''
  private lastClientAddr = -1
  // choose() results, in fields so the hot path allocates nothing.
  private pickA = -1
  private pickB = -1
  private pickLen = -1

  constructor(private readonly store: RegistrationStore, state: ReferralState, private readonly o: ReferralHandlerOptions) {
    this.now = o.now ?? (() => Date.now() / 1000)
    store.servesName = (name) => this.nameIndex.has(name)
    this.setState(state)
    this.updates = new UpdateResponder({
      keyring: () => o.keyring(),
      findZone: (z) => (z === this.store.origin ? this.store : undefined),
      commit: () => o.commit(),
      now: o.now ? () => Math.floor(o.now!()) : undefined,
      onUpdate: o.onUpdate,
    })
  }

  /** Takes a new state (reload). The zone itself cannot change while running. */
  setState(state: ReferralState): void {
    this.state = state
    this.whoamiName = `whoami.${state.zone}`
    this.whoamiSuffix = `.${this.whoamiName}`
    this.transferPrefixes = state.transfer.addresses.map((p) => parsePrefix(p)!).filter(Boolean)
    this.ecsFrom = state.ecsFrom.map((p) => parsePrefix(p)!).filter(Boolean)
    this.lastEcsClient = -1
    this.rebuild()
  }

  /** Takes DNS-A's pools: republished under _pool, their names become load-balanced names. */
  setPools(pools: ReadonlyMap<string, Pool>): void {
    this.pools = pools
    this.rebuild()
  }

  /** The load-balanced names served (FQDNs). */
  loadBalancedNames(): readonly string[] {
    return this.names
  }

  /** The zone's own records (for UPDATE prerequisites on them). */
  staticRrset(name: string, type: number): StoredRR[] {
    const out: StoredRR[] = []
    for (const r of this.zone.records()) {
      if (r.name !== name || (type !== RRType.ANY && r.type !== type)) continue
      out.push({type: r.type, ttl: r.ttl, rdata: canonicalRdata(r.type, r.type === RRType.SOA ? this.soaData() : r.data)})
    }
    return out
  }

  private rebuild(): void {
    const s = this.state
    const records: ZoneRecord[] = []
    for (const ns of s.ns) {
      records.push({name: s.zone, type: RRType.NS, ttl: s.ttl, data: ns.name})
      records.push({name: ns.name, type: isIPv4(ns.address) ? RRType.A : RRType.AAAA, ttl: s.ttl, data: ns.address})
    }
    const names = new Set(s.names.map((n) => resolveName(s.zone, n)).filter((n): n is string => n !== null))
    const poolOf = new Map<string, Set<string>>()
    for (const [pool, p] of this.pools) {
      const owner = `${pool.toLowerCase()}._pool.${s.zone}`
      records.push({name: owner, type: RRType.TXT, ttl: s.ttl, data: p.txt})
      for (const srv of p.servers) records.push({name: owner, type: isIPv4(srv.address) ? RRType.A : RRType.AAAA, ttl: s.ttl, data: srv.address})
      if (isSubdomain(p.name, s.zone) && p.name !== s.zone && !isSubdomain(p.name, `_pool.${s.zone}`)) {
        names.add(p.name)
        const set = poolOf.get(p.name) ?? new Set<string>()
        for (const srv of p.servers) set.add(srv.address)
        poolOf.set(p.name, set)
      }
    }
    this.zone = new Zone(s.zone, this.soaData(), s.ttl, records)
    this.names = [...names]
    this.nameIndex = new Map(this.names.map((n, i) => [n, i]))
    this.nameLabels = this.names.map((n) => '.' + n)
    this.poolAddrs = this.names.map((n) => poolOf.get(n) ?? null)
    this.clearReferrals()
    this.directCache.clear()
    this.staticCache.clear()
  }

  private clearReferrals(): void {
    this.referrals = this.names.map(() => new Map())
    this.referralCount = 0
    const s = this.state
    this.staticIds = s.lbs.map((l) => this.store.idOfLabel(l.label))
    this.backupId = s.backup ? this.store.idOfLabel(s.backup) : -1
    this.noMappingId = typeof s.noMapping === 'object' ? this.store.idOfLabel(s.noMapping.lb) : -1
    const now = this.now()
    this.lbNames = []
    for (const lb of this.store.table.lbs()) {
      const declared = this.store.namesOf(this.store.labelOf(lb.id), now)
      if (!declared) continue
      const mask = new Uint8Array(this.names.length)
      for (const n of declared) {
        const i = this.nameIndex.get(n)
        if (i !== undefined) mask[i] = 1
      }
      this.lbNames[lb.id] = mask
    }
  }

  /** True when LB `id` may be referred to for the name being answered now: alive, and serving it. */
  private usable(id: number, now: number): boolean {
    if (!this.store.lbAlive(id, now)) return false
    const mask = this.lbNames[id]
    return mask === undefined || mask === null || mask[this.nameIdx] === 1
  }

  private soaData(): SoaData {
    const s = this.state
    return {
      mname: s.ns[0]!.name, rname: s.soa.rname ?? `hostmaster.${s.zone}`, serial: this.store.serial,
      refresh: s.soa.refresh, retry: s.soa.retry, expire: s.soa.expire, minimum: s.soa.minimum,
    }
  }

  private soaRR(negative: boolean): RR {
    const s = this.state
    return {name: s.zone, type: RRType.SOA, ttl: negative ? Math.min(s.ttl, s.soa.minimum) : s.ttl, data: this.soaData()}
  }

  private nodata(): ResponseSpec {
    return {rcode: Rcode.NOERROR, aa: true, authority: [this.soaRR(true)]}
  }

  serveDNS(req: Request, w: ResponseWriter): void | Promise<void> {
    const q = req.query
    if (q.header.opcode === Opcode.UPDATE) return this.updates.serve(req, w).then(() => undefined)
    if (q.qclass !== 1 && q.qclass !== 255) { w.reply({rcode: Rcode.REFUSED}); return }
    const qname = q.qname
    const idx = this.nameIndex.get(qname)
    if (idx !== undefined) return this.answerName(req, w, idx, true)
    if (!isSubdomain(qname, this.state.zone)) { w.reply({rcode: Rcode.REFUSED}); return }
    for (let i = 0; i < this.nameLabels.length; i++) {
      if (qname.endsWith(this.nameLabels[i]!)) return this.answerName(req, w, i, false)
    }
    if (qname.endsWith(this.whoamiSuffix)) return this.whoami(req, w)
    if (q.qtype === RRType.AXFR) return this.transfer(req, w)
    if (q.qtype === RRType.IXFR) { w.reply({rcode: Rcode.NOTIMP}); return }
    if (qname === this.whoamiName) { w.reply(this.nodata()); return }
    this.answerStatic(req, w)
  }

  // ---- load-balanced names ---------------------------------------------------------------------------

  private answerName(req: Request, w: ResponseWriter, idx: number, apex: boolean): void {
    const q = req.query
    // DNS-B is the parent side of N's delegation: DS is answered here, and there is none (insecure).
    if (apex && q.qtype === RRType.DS) { w.reply(this.nodata()); return }
    const store = this.store
    if (this.addressVersion !== store.addressVersion || this.referralCount > MAX_CACHED) {
      this.clearReferrals()
      this.directCache.clear()
      this.addressVersion = store.addressVersion
    }
    if (this.measurementVersion !== store.measurementVersion || this.directCache.size > MAX_CACHED) {
      this.directCache.clear()
      this.measurementVersion = store.measurementVersion
    }
    const now = this.now()
    const ecs = q.edns?.ecs ?? null
    let addr: Address | null = this.clientAddress(req.client.address)
    let maxLen = typeof addr === 'number' ? 32 : 128
    // README "ECS": the querier's address decides; its ECS only when it is a source listed in ecsFrom.
    const bySubnet = ecs !== null && ecs.sourceLen > 0 && addr !== null && this.trustsEcs(addr)
    if (bySubnet) {
      // RFC 7871 §7.1.1: the subnet stands for the client; bits past SOURCE PREFIX-LENGTH are ignored.
      const x = ecs.address
      // An int32 with the address's bits (a uint32 over 2^31 would be a heap number): the table takes either.
      addr = ecs.family === 4 ? (x[0]! << 24) | (x[1]! << 16) | (x[2]! << 8) | x[3]! : x
      maxLen = ecs.sourceLen
    }
    this.nameIdx = idx
    this.choose(addr, maxLen, now)
    const a = this.pickA
    const b = this.pickB
    const referral = this.state.mode === 'referral' && a >= 0
    let ecsOption: Buffer | undefined
    if (ecs) {
      // RFC 7871 §7.4: a referral is cached by the resolver without scope, so it says so: SCOPE 0. An answer
      // DNS-B gives itself (direct mode) chosen by a trusted subnet holds for the matched prefix (§7.2.1; the
      // asked subnet when the default answered); chosen by the querier's address, for all its clients: 0.
      const scopeLen = referral || !bySubnet ? 0 : this.pickLen >= 0 ? this.pickLen : ecs.sourceLen
      ecsOption = this.echo.write(ecs, scopeLen)
    }
    if (referral) {
      this.referred[a] = (this.referred[a] ?? 0) + 1
      if (!apex) { w.reply(this.referralSpec(idx, a, b), ecsOption ? [ecsOption] : undefined); return }
      const byPair = this.referrals[idx]!
      const key = referralKey(q.qtype, a, b)
      let p = byPair.get(key)
      if (!p) {
        p = new PreparedAnswer(this.names[idx]!, q.qtype, this.referralSpec(idx, a, b), q.qclass)
        byPair.set(key, p)
        this.referralCount++
      }
      w.prepared(p, ecsOption)
      return
    }
    // Direct mode, or no DNS-LB at all: DNS-B answers N itself.
    if (!apex) { w.reply({rcode: Rcode.NXDOMAIN, aa: true, authority: [this.soaRR(true)]}, ecsOption ? [ecsOption] : undefined); return }
    if (q.qtype !== RRType.A && q.qtype !== RRType.AAAA) { w.reply(this.nodata(), ecsOption ? [ecsOption] : undefined); return }
    const key = `d${q.qtype}|${idx}|${a}|${b}`
    let c = this.directCache.get(key)
    if (!c || !(c.until > now)) {
      const d = this.directSpec(idx, q.qtype === RRType.A ? 4 : 6, a, b, now)
      if (!d) { w.reply(this.nodata(), ecsOption ? [ecsOption] : undefined); return }
      c = {p: new PreparedAnswer(this.names[idx]!, q.qtype, d.spec, q.qclass), until: d.until}
      this.directCache.set(key, c)
    }
    w.prepared(c.p, ecsOption)
  }

  /** Referrals given so far (since start) per DNS-LB label, the one named first. */
  referralsByLb(): Map<string, number> {
    const out = new Map<string, number>()
    this.referred.forEach((n, id) => {
      if (n === undefined || this.store.table.lb(id) === undefined) return
      const label = this.store.labelOf(id)
      out.set(label, (out.get(label) ?? 0) + n)
    })
    return out
  }

  /** Sets pickA (the mapped LB), pickB (a second one) and pickLen (matched prefix length, -1: none). */
  private choose(addr: Address | null, maxLen: number, now: number): void {
    const store = this.store
    let a = -1
    let b = -1
    let len = -1
    if (addr !== null) {
      const m = store.table.lookupSubnet(addr, maxLen, now)
      if (m) {
        len = m.prefixLen
        for (let i = 0; i < m.count; i++) {
          const id = m.lbs[i]!
          if (!this.usable(id, now)) continue
          if (a < 0) a = id
          else if (id !== a) { b = id; break }
        }
        if (a < 0) len = -1
      }
    }
    if (a < 0) a = this.defaultLb(addr, now)
    if (a >= 0 && b < 0) b = this.secondLb(addr, len, a, now)
    this.pickA = a
    this.pickB = b
    this.pickLen = len
  }

  /** No mapping: the configured DNS-LB, else the busiest nearby, else one from the state; -1: answer directly. */
  private defaultLb(addr: Address | null, now: number): number {
    const nm = this.state.noMapping
    if (nm === 'all-servers') return -1
    if (typeof nm === 'object' && this.usable(this.noMappingId, now)) return this.noMappingId
    return this.fallbackLb(addr, -1, now)
  }

  /** The second DNS-LB: the configured backup, the next shorter matching prefix, the busiest nearby. */
  private secondLb(addr: Address | null, len: number, a: number, now: number): number {
    const store = this.store
    const backup = this.backupId
    if (backup !== a && this.usable(backup, now)) return backup
    if (addr !== null) {
      for (let l = len - 1; l >= 1;) {
        const m = store.table.lookupSubnet(addr, l, now)
        if (!m) break
        for (let i = 0; i < m.count; i++) {
          const id = m.lbs[i]!
          if (id !== a && this.usable(id, now)) return id
        }
        l = m.prefixLen - 1
      }
    }
    return this.fallbackLb(addr, a, now)
  }

  private fallbackLb(addr: Address | null, not: number, now: number): number {
    const store = this.store
    if (addr !== null) {
      const id = store.table.busiestLbNear(addr)
      if (id !== null && id !== not && this.usable(id, now)) return id
    }
    const ids = this.staticIds
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!
      if (id !== not && this.usable(id, now)) return id
    }
    // Any other live DNS-LB, by name (so every DNS-B picks the same): two NS let resolvers fail over (interop README).
    for (const lb of store.table.lbsByName()) if (lb.id !== not && this.usable(lb.id, now)) return lb.id
    return -1
  }

  private clientAddress(text: string): Address | null {
    if (text === this.lastClient) return this.lastClientAddr
    const v4 = parseIPv4(text)
    if (v4 >= 0) {
      this.lastClient = text
      this.lastClientAddr = v4
      return v4
    }
    let end = text.indexOf('%')
    if (end < 0) end = text.length
    const b = this.scratch
    // No ::ffff: case: Request.client is already unmapped (src/dns/server.ts), so IPv6 text here is IPv6.
    return parseIPv6Into(text, b, 0, end) ? b : null
  }

  /** True when ECS from `addr` is honoured (it lies in ecsFrom); the last IPv4 client's result is kept. */
  private trustsEcs(addr: Address): boolean {
    const list = this.ecsFrom
    if (list.length === 0) return false
    if (typeof addr === 'number' && addr === this.lastEcsClient) return this.lastEcsTrusted
    let yes = false
    for (let i = 0; i < list.length; i++) if (prefixContains(list[i]!, addr)) { yes = true; break }
    if (typeof addr === 'number') {
      this.lastEcsClient = addr
      this.lastEcsTrusted = yes
    }
    return yes
  }

  /** N NS <label>.N for the LB pair, with in-bailiwick glue (ARCHITECTURE.md name layout). */
  private referralSpec(idx: number, a: number, b: number): ResponseSpec {
    const n = this.names[idx]!
    const ttl = this.state.referralTtl
    const authority: RR[] = []
    const additional: RR[] = []
    for (const id of b >= 0 ? [a, b] : [a]) {
      const ns = `${this.store.labelOf(id)}.${n}`
      authority.push({name: n, type: RRType.NS, ttl, data: ns})
      for (const addr of this.store.table.lb(id)!.addrs) additional.push({name: ns, type: isIPv4(addr) ? RRType.A : RRType.AAAA, ttl, data: addr})
    }
    return {rcode: Rcode.NOERROR, aa: false, authority, additional}
  }

  /** The best server by the mapped LB's measurements (then the second's), else every server of N's pool. */
  private directSpec(idx: number, family: 4 | 6, a: number, b: number, now: number): {spec: ResponseSpec; until: number} | null {
    const n = this.names[idx]!
    const type = family === 4 ? RRType.A : RRType.AAAA
    const ttl = this.state.directTtl
    const allowed = this.poolAddrs[idx] ?? null
    for (const id of [a, b]) {
      if (id < 0) continue
      const m = this.store.measurementsOf(this.store.labelOf(id), now)
      const best = m ? bestServer(m.servers, family, allowed) : null
      if (best) return {spec: {rcode: Rcode.NOERROR, aa: true, answer: [{name: n, type, ttl, data: best}]}, until: m!.expiresAt}
    }
    const all = [...(allowed ?? [])].filter((x) => (family === 4) === isIPv4(x))
    if (!all.length) return null
    return {spec: {rcode: Rcode.NOERROR, aa: true, answer: all.map((x) => ({name: n, type, ttl, data: x}))}, until: Infinity}
  }

  // ---- whoami ------------------------------------------------------------------------------------------

  /** `<anything>.whoami.<zone>`: the asker's address (A for IPv4, AAAA for IPv6, TXT always; ANY the address), TTL 0. */
  private whoami(req: Request, w: ResponseWriter): void {
    const q = req.query
    // Request.client is already unmapped: an IPv4 client of a dual-stack socket is family 4 here.
    const {address: addr, family} = req.client
    const answer: RR[] = []
    const any = q.qtype === RRType.ANY
    if ((any || q.qtype === RRType.A) && family === 4) answer.push({name: q.qname, type: RRType.A, ttl: 0, data: addr})
    if ((any || q.qtype === RRType.AAAA) && family === 6) answer.push({name: q.qname, type: RRType.AAAA, ttl: 0, data: addr})
    // RFC 8482: ANY gets one RRset (the address), not every type: a small answer to an unauthenticated question.
    if (q.qtype === RRType.TXT) answer.push({name: q.qname, type: RRType.TXT, ttl: 0, data: [addr]})
    w.reply(answer.length ? {rcode: Rcode.NOERROR, aa: true, answer} : this.nodata())
  }

  // ---- the zone's own records ----------------------------------------------------------------------------

  private answerStatic(req: Request, w: ResponseWriter): void {
    const q = req.query
    const key = q.qtype + '|' + q.qname
    const hit = this.staticCache.get(key)
    if (hit) { w.prepared(hit); return }
    const spec = this.zone.lookup(q.qname, q.qtype)
    const soa = this.soaData()
    const withSoa = (rrs?: RR[]) => rrs?.map((r) => (r.type === RRType.SOA ? {...r, data: soa} : r))
    const hasSoa = [...(spec.answer ?? []), ...(spec.authority ?? [])].some((r) => r.type === RRType.SOA)
    if (hasSoa || spec.rcode !== Rcode.NOERROR) {
      // The serial moves with every registration: SOA-bearing answers are encoded per query.
      w.reply({...spec, answer: withSoa(spec.answer), authority: withSoa(spec.authority)})
      return
    }
    const p = new PreparedAnswer(q.qname, q.qtype, spec, q.qclass)
    if (this.staticCache.size < MAX_CACHED) this.staticCache.set(key, p)
    w.prepared(p)
  }

  // ---- zone transfer -------------------------------------------------------------------------------------

  /** AXFR over TCP to allowed keys (signed stream) or allowed addresses (unsigned); REFUSED otherwise. */
  private transfer(req: Request, w: ResponseWriter): void {
    const q = req.query
    const header = (rcode: number) => encodeResponse(q, req.message, {rcode}, req.limit, q.edns ? {udpSize: OUR_UDP_SIZE, do: q.edns.do} : null)
    const offset = findTsigOffset(req.message)
    if (offset === TSIG_FORMERR) { w.raw(header(Rcode.FORMERR)); return }
    let verified: VerifyOk | null = null
    if (offset >= 0) {
      const v = verify(req.message, offset, this.o.keyring(), {now: this.o.now ? Math.floor(this.o.now()) : undefined})
      if (!v.ok) { w.raw(tsigErrorResponse(header(v.rcode), v)); return }
      verified = v
    }
    const refuse = () => {
      const r = header(Rcode.REFUSED)
      w.raw(verified ? signResponse(r, verified).message : r)
    }
    if (q.qname !== this.state.zone || req.transport !== 'tcp') { refuse(); return }
    const keys = this.state.transfer.keys
    const allowed = verified
      ? keys === undefined || keys.includes(verified.key.name)
      : this.transferPrefixes.some((p) => {
        const a = parseAddress(req.client.address)
        return a !== null && prefixContains(p, a)
      })
    if (!allowed) { refuse(); return }
    const now = this.now()
    const soa = this.soaRR(false)
    const zone = this.zone
    const store = this.store
    const ttl = this.state.ttl
    function* records(): Generator<RR> {
      yield soa
      for (const r of zone.records()) if (r.type !== RRType.SOA) yield {name: r.name, type: r.type, ttl: r.ttl, data: r.data}
      yield* store.transferRecords(now, ttl)
    }
    let messages = buildTransferMessages(q, req.message, records(), soa)
    if (verified) {
      const signer = createStreamSigner(verified.key, verified.mac)
      messages = messages.map((m) => signer.sign(m).message)
    }
    w.stream(messages)
  }
}

/**
 * The key of a prepared referral: (qtype, LB pair) as one small integer when it fits (a Map lookup with no
 * string built per query), else a string. Fits for qtype < 256 and LB ids < 2047: every lab and bench case.
 */
function referralKey(qtype: number, a: number, b: number): number | string {
  if (qtype < 256 && a < 2047 && b < 2046) return (qtype << 22) | (a << 11) | (b + 1)
  return `${qtype}|${a}|${b}`
}

