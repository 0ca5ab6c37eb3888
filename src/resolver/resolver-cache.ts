// The resolver's cache: RRsets and negative answers for their TTLs, and the delegations learned on the way.
import {LRUCache} from 'lru-cache'
import {RRType} from '../dns/wire/constants.js'
import {parentName} from '../dns/wire/name.js'
import type {RR} from '../dns/wire/writer.js'
import type {NameServer} from './read-response.js'

/**
 * How much a cached RRset is trusted (RFC 2181 §5.4.1, simplified): an authoritative answer beats the NS set
 * of a referral, which beats glue. Clients are only ever answered from `answer` data; referral NS sets and
 * glue only tell the resolver where to ask.
 */
export type Rank = 'glue' | 'referral' | 'answer'
const RANK: Record<Rank, number> = {glue: 1, referral: 2, answer: 3}

type Entry =
  | {kind: 'rrset'; records: RR[]; rank: Rank; expires: number}
  | {kind: 'nodata' | 'nxdomain'; soa: RR[]; expires: number}

/**
 * What the cache knows about (name, type): the same shapes the resolver reads from an authoritative reply,
 * with the TTL the entry was stored with (s) and the time it has left (ms, 0 or less once expired): what
 * prefetch and serve-stale decide from.
 */
export type CachedAnswer = (
  | {kind: 'answer'; records: RR[]}
  | {kind: 'nodata'; soa: RR[]}
  | {kind: 'nxdomain'; soa: RR[]}
) & {ttl: number; leftMs: number}

export interface ResolverCacheOptions {
  /** Entries kept (an entry is one RRset or one negative answer); least recently used go first. */
  maxEntries?: number
  /** TTLs above this are cut to it (seconds). */
  maxTtl?: number
  /**
   * How long an expired entry is kept for serve-stale (RFC 8767), ms (default 0: dropped when it expires).
   * Only `lookup(..., {stale: true})` returns such entries; everything else sees them as gone.
   */
  staleMs?: number
  /** Clock in ms (tests). */
  now?: () => number
}

/** A bounded LRU cache of RRsets and negative answers that expire with their TTL. TTL 0 is never stored. */
export class ResolverCache {
  private readonly lru: LRUCache<string, Entry>
  private readonly maxTtl: number
  private readonly staleMs: number
  private readonly now: () => number

  constructor(o: ResolverCacheOptions = {}) {
    this.lru = new LRUCache({max: o.maxEntries ?? 10_000})
    this.maxTtl = o.maxTtl ?? 86_400
    this.staleMs = o.staleMs ?? 0
    this.now = o.now ?? Date.now
  }

  get size(): number {
    return this.lru.size
  }

  clear(): void {
    this.lru.clear()
  }

  /** Stores one RRset (records of one name and type). A lower-ranked RRset never replaces a live higher one. */
  putRRset(records: RR[], rank: Rank): void {
    if (records.length === 0) return
    const ttl = Math.min(this.maxTtl, ...records.map((r) => r.ttl))
    if (ttl <= 0) return // TTL 0: use once, never cache (RFC 1035 §3.2.1); whoami relies on it
    const key = rrKey(records[0]!.name, records[0]!.type)
    const old = this.live(key)
    if (old?.kind === 'rrset' && RANK[old.rank] > RANK[rank]) return
    this.lru.set(key, {kind: 'rrset', records: records.map((r) => ({...r, ttl})), rank, expires: this.now() + ttl * 1000})
  }

  /** Stores every RRset in `records`, grouped by name and type. */
  putRecords(records: RR[], rank: Rank): void {
    const sets = new Map<string, RR[]>()
    for (const r of records) {
      const k = rrKey(r.name, r.type)
      const s = sets.get(k)
      if (s) s.push(r)
      else sets.set(k, [r])
    }
    for (const s of sets.values()) this.putRRset(s, rank)
  }

  /** Stores a negative answer for its SOA's negative TTL (RFC 2308 §5); NXDOMAIN covers every type. */
  putNegative(name: string, type: number, kind: 'nodata' | 'nxdomain', soa: RR[], ttl: number): void {
    const t = Math.min(this.maxTtl, ttl)
    if (t <= 0 || soa.length === 0) return // RFC 2308 §5: without a SOA there is no negative TTL to use
    const key = kind === 'nxdomain' ? nxKey(name) : rrKey(name, type)
    this.lru.set(key, {kind, soa: soa.map((r) => ({...r, ttl: t})), expires: this.now() + t * 1000})
  }

  /**
   * What a client asking (name, type) may be told from the cache: the RRset, a CNAME at the name, or a
   * negative answer, with TTLs counted down. Only authoritative (`answer`) data is returned. With `stale`, an
   * expired entry still kept for serve-stale is returned (TTL 0) when there is no live one.
   */
  lookup(name: string, type: number, o: {stale?: boolean} = {}): CachedAnswer | undefined {
    return this.find(name, type, false) ?? (o.stale && this.staleMs > 0 ? this.find(name, type, true) : undefined)
  }

  private find(name: string, type: number, stale: boolean): CachedAnswer | undefined {
    const nx = this.entry(nxKey(name), stale)
    if (nx && nx.kind === 'nxdomain') return this.answer(nx)
    const e = this.entry(rrKey(name, type), stale)
    if ((e?.kind === 'rrset' && e.rank === 'answer') || e?.kind === 'nodata') return this.answer(e)
    if (type !== RRType.CNAME) {
      const c = this.entry(rrKey(name, RRType.CNAME), stale)
      if (c?.kind === 'rrset' && c.rank === 'answer') return this.answer(c)
    }
    return undefined
  }

  private answer(e: Entry): CachedAnswer {
    const leftMs = e.expires - this.now()
    if (e.kind === 'rrset') return {kind: 'answer', records: this.aged(e.records, e.expires), ttl: e.records[0]!.ttl, leftMs}
    return {kind: e.kind, soa: this.aged(e.soa, e.expires), ttl: e.soa[0]!.ttl, leftMs}
  }

  /**
   * The deepest zone at or above `name` whose NS set is cached with at least one usable address: where an
   * iterative resolution may start instead of the root. Resolvers keep asking this zone's servers until the
   * NS set expires, which is why DNS-B's referral TTL sets how fast clients move between DNS-LBs.
   */
  findDelegation(name: string): {zone: string; servers: NameServer[]} | undefined {
    for (let zone = name; ; zone = parentName(zone)) {
      const ns = this.live(rrKey(zone, RRType.NS))
      if (ns?.kind === 'rrset') {
        const servers = ns.records.map((r) => ({name: r.data as string, addresses: this.addressesOf(r.data as string)}))
        if (servers.some((s) => s.addresses.length > 0)) return {zone, servers}
      }
      if (zone === '.') return undefined
    }
  }

  private addressesOf(host: string): string[] {
    const out: string[] = []
    for (const t of [RRType.A, RRType.AAAA]) {
      const e = this.live(rrKey(host, t))
      if (e?.kind === 'rrset') out.push(...e.records.map((r) => r.data as string))
    }
    return out
  }

  private live(key: string): Entry | undefined {
    return this.entry(key, false)
  }

  /** The entry at `key` if live (or, with `stale`, expired but within the serve-stale window); drops it after. */
  private entry(key: string, stale: boolean): Entry | undefined {
    const e = this.lru.get(key)
    if (!e) return undefined
    const now = this.now()
    if (e.expires <= now) {
      if (e.expires + this.staleMs <= now) this.lru.delete(key)
      else if (stale) return e
      return undefined
    }
    return stale ? undefined : e
  }

  private aged(records: RR[], expires: number): RR[] {
    const ttl = Math.max(0, Math.floor((expires - this.now()) / 1000))
    return records.map((r) => ({...r, ttl}))
  }
}

function rrKey(name: string, type: number): string {
  return `${type}|${name}`
}

function nxKey(name: string): string {
  return `NX|${name}`
}
