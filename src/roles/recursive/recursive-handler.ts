// DNS-ISP's Handler: a caching recursive resolver for labs, answering clients from the cache or by iterating.
import type {Handler, Request, ResponseWriter} from '../../dns/handler.js'
import {Flag, RRClass, Rcode, RRType} from '../../dns/wire/constants.js'
import {InfraCache} from '../../resolver/infra-cache.js'
import {IterativeResolver, type ResolverOptions} from '../../resolver/iterative-resolver.js'
import type {Resolution} from '../../resolver/resolution.js'
import type {RR} from '../../dns/wire/writer.js'
import {ResolverCache} from '../../resolver/resolver-cache.js'
import {LRUCache} from 'lru-cache'
import {ClientAllowList} from '../client-allow-list.js'
import type {IspState} from './isp-state.js'

/** Counters for tests, logs and metrics. */
export interface RecursiveStats {
  queries: number
  /** Answered entirely from the cache. */
  hits: number
  /** Resolutions started (misses that did not join one in progress). */
  resolutions: number
  /** Misses that joined an identical resolution already in progress. */
  joined: number
  /** Queries sent upstream. */
  upstream: number
  refused: number
  servfail: number
  /** Background refreshes started by a hit in the last 10 % of a TTL (prefetch). */
  prefetches: number
  /** Answers from expired data (serve-stale: the refresh was slow or failed). */
  stale: number
}

/** Serve-stale (RFC 8767), as BIND's stale-answer-client-timeout and unbound's serve-expired-client-timeout. */
export interface ServeStaleOptions {
  /** How long after expiry data may still be served, ms (RFC 8767 §5 suggests 1 to 3 days). */
  maxStaleMs: number
  /** How long a client with stale data in the cache waits for the refresh before it gets the stale answer, ms. */
  clientTimeoutMs: number
  /** TTL of a stale answer (RFC 8767 §4: 30 s). */
  replyTtl: number
}

/** unbound's prefetch rule: a hit with less than 10 % of the TTL left refreshes the entry in the background. */
export const PREFETCH_RATIO = 0.1
export const SERVE_STALE_DEFAULTS: ServeStaleOptions = {maxStaleMs: 86_400_000, clientTimeoutMs: 1800, replyTtl: 30}

/** A resolution in progress, shared by every client that missed on its key. */
interface Inflight {
  done: Promise<Resolution>
  /** The resolution, or undefined when the serve-stale client timeout came first (made on first use). */
  orStale?: Promise<Resolution | undefined>
}

export interface RecursiveOptions {
  resolver: Omit<ResolverOptions, 'cache' | 'infra' | 'onHop'>
  allow: readonly string[]
  cache?: {maxEntries?: number; maxTtl?: number}
  maxInflight?: number
  failureTtlMs?: number
  /** Refresh popular entries before they expire (default true). */
  prefetch?: boolean
  /** Serve-stale (default SERVE_STALE_DEFAULTS); false: never answer with expired data. */
  serveStale?: ServeStaleOptions | false
  /** Called once per finished resolution (for the failure log). */
  onResolved?: (r: Resolution) => void
}

/** Resolver options from an isp.json state. */
export function recursiveOptionsFromState(s: IspState): RecursiveOptions {
  return {
    resolver: {
      startServers: s.root, port: s.upstreamPort, source: Array.isArray(s.egress) ? s.egress[0] : s.egress, sources: Array.isArray(s.egress) ? s.egress : undefined, qnameMinimisation: s.qnameMinimisation,
      minimiseType: s.minimiseType, queryTimeoutMs: s.queryTimeout, minQueryTimeoutMs: s.minQueryTimeout, timeLimitMs: s.resolutionTimeout, maxQueries: s.maxQueries,
    },
    allow: s.allow,
    cache: s.cache,
    maxInflight: s.maxInflight,
    failureTtlMs: s.failureTtl,
    prefetch: s.prefetch,
    serveStale: s.serveStale.enabled && {maxStaleMs: s.serveStale.maxStale, clientTimeoutMs: s.serveStale.clientTimeout, replyTtl: s.serveStale.replyTtl},
  }
}

/**
 * Recursion for allowed clients (RD=1): a cache hit is answered at once with TTLs counted down; a miss is
 * resolved iteratively from the egress address, and identical misses in flight share one resolution. RD=0
 * queries are answered from the cache only. Everything goes out with RA set; failures are SERVFAIL and are
 * remembered briefly (RFC 9520) so a broken zone is not hammered.
 *
 * Clients of a popular name never wait on the upstream when its entry expires (the DNS-LB's answers live
 * only seconds): a hit in the last 10 % of a TTL starts a background refresh (prefetch, as unbound's
 * `prefetch: yes`). When a miss finds expired data still kept (serve-stale, RFC 8767), a client waits at most
 * `clientTimeoutMs` for the refresh and otherwise gets the expired data with TTL `replyTtl`; so does it when
 * the refresh fails, when the failure is remembered, or when the bound on resolutions in progress is hit.
 */
export class RecursiveHandler implements Handler {
  readonly stats: RecursiveStats = {queries: 0, hits: 0, resolutions: 0, joined: 0, upstream: 0, refused: 0, servfail: 0, prefetches: 0, stale: 0}
  private resolver!: IterativeResolver
  private cache!: ResolverCache
  private allow!: ClientAllowList
  private options!: RecursiveOptions
  private cacheOptions: object = {}
  private readonly inflight = new Map<string, Inflight>()
  private prefetchRatio = PREFETCH_RATIO
  private serveStale: ServeStaleOptions | false = SERVE_STALE_DEFAULTS
  private readonly failures = new LRUCache<string, number>({max: 10_000})
  /**
   * What every resolution has learned of the upstream servers (RTTs, silent ones held back): kept across
   * reloads and flushes, so a silent DNS-LB costs one timeout per hold-down, not one per resolution.
   */
  readonly infra = new InfraCache({maxServers: 10_000})

  constructor(o: RecursiveOptions) {
    this.configure(o)
  }

  /** Applies new options (a reload). The cache is kept unless its size limits changed. */
  configure(o: RecursiveOptions): void {
    const serveStale = o.serveStale === undefined ? SERVE_STALE_DEFAULTS : o.serveStale
    const cacheOptions = {...o.cache, staleMs: serveStale ? serveStale.maxStaleMs : 0}
    const sameCache = this.options && JSON.stringify(this.cacheOptions) === JSON.stringify(cacheOptions)
    if (!sameCache) this.cache = new ResolverCache(cacheOptions)
    this.cacheOptions = cacheOptions
    this.serveStale = serveStale
    this.prefetchRatio = o.prefetch === false ? 0 : PREFETCH_RATIO
    this.options = o
    this.allow = new ClientAllowList(o.allow)
    this.resolver = new IterativeResolver({...o.resolver, cache: this.cache, infra: this.infra, onHop: () => { this.stats.upstream++ }})
    this.failures.clear()
  }

  /** Empties the cache (tests, and a future `flush` control). */
  flush(): void {
    this.cache.clear()
    this.failures.clear()
  }

  get cacheSize(): number {
    return this.cache.size
  }

  serveDNS(req: Request, w: ResponseWriter): void | Promise<void> {
    this.stats.queries++
    const {qname, qtype, qclass, header} = req.query
    if (!this.allow.allows(req.client.address)) {
      this.stats.refused++
      w.reply({rcode: Rcode.REFUSED})
      return
    }
    if (qclass !== RRClass.IN || qtype === RRType.AXFR || qtype === RRType.IXFR || qtype === RRType.OPT) {
      this.stats.refused++
      w.reply({rcode: Rcode.REFUSED, ra: true})
      return
    }
    const key = `${qtype}|${qname}`
    const hit = this.resolver.fromCache(qname, qtype, {prefetchRatio: this.prefetchRatio})
    if (hit) {
      this.stats.hits++
      if (hit.prefetch) this.prefetch(key, qname, qtype)
      this.answer(w, hit)
      return
    }
    if (!(header.flags & Flag.RD)) {
      // Not asked to recurse and not in the cache: nothing to say (RFC 1034 §4.3.1 leaves this to us).
      this.stats.refused++
      w.reply({rcode: Rcode.REFUSED, ra: true})
      return
    }
    const stale = this.serveStale ? this.resolver.fromCache(qname, qtype, {stale: true}) : undefined
    const failedUntil = this.failures.get(key)
    if (failedUntil !== undefined && failedUntil > Date.now()) {
      this.fail(w, stale)
      return
    }
    let f = this.inflight.get(key)
    if (f) {
      this.stats.joined++
    } else {
      if (this.inflight.size >= (this.options.maxInflight ?? 1000)) {
        this.fail(w, stale)
        return
      }
      f = this.start(key, qname, qtype)
    }
    if (!stale) return f.done.then((r) => this.answer(w, r))
    return this.orStale(f).then((r) => (r && r.status !== 'failed' ? this.answer(w, r) : this.fail(w, stale)))
  }

  /** Starts a resolution that clients missing on `key` share until it ends. */
  private start(key: string, qname: string, qtype: number, refreshRatio = 0): Inflight {
    this.stats.resolutions++
    const done = this.resolver.resolve(qname, qtype, {refreshRatio}).then((r) => {
      if (r.status === 'failed') this.failures.set(key, Date.now() + (this.options.failureTtlMs ?? 1000))
      this.options.onResolved?.(r)
      return r
    }).finally(() => {
      if (this.inflight.get(key) === f) this.inflight.delete(key)
    })
    const f: Inflight = {done}
    this.inflight.set(key, f)
    return f
  }

  /** A hit close to expiry: refresh the entry in the background (unless a resolution of it is under way). */
  private prefetch(key: string, qname: string, qtype: number): void {
    if (this.inflight.has(key) || this.inflight.size >= (this.options.maxInflight ?? 1000)) return
    this.stats.prefetches++
    this.start(key, qname, qtype, this.prefetchRatio).done.catch(() => {}) // nobody waits on it
  }

  /** The resolution, or undefined once the serve-stale client timeout passes (one timer per resolution). */
  private orStale(f: Inflight): Promise<Resolution | undefined> {
    const timeoutMs = this.serveStale ? this.serveStale.clientTimeoutMs : 0
    f.orStale ??= new Promise((resolve) => {
      const timer = setTimeout(() => resolve(undefined), timeoutMs)
      f.done.then((r) => { clearTimeout(timer); resolve(r) }, () => { clearTimeout(timer); resolve(undefined) })
    })
    return f.orStale
  }

  /** No answer to give: the stale one if there is one (RFC 8767 §5), else SERVFAIL. */
  private fail(w: ResponseWriter, stale: Resolution | undefined): void {
    if (!stale || !this.serveStale) {
      this.stats.servfail++
      w.reply({rcode: Rcode.SERVFAIL, ra: true})
      return
    }
    this.stats.stale++
    const ttl = this.serveStale.replyTtl
    const withTtl = (rrs: RR[]) => rrs.map((r) => ({...r, ttl}))
    w.reply({rcode: stale.rcode, ra: true, answer: withTtl(stale.answer), authority: withTtl(stale.authority)})
  }

  private answer(w: ResponseWriter, r: Resolution): void {
    if (r.status === 'failed') {
      this.stats.servfail++
      w.reply({rcode: Rcode.SERVFAIL, ra: true})
      return
    }
    w.reply({rcode: r.rcode, ra: true, answer: r.answer, authority: r.authority})
  }
}
