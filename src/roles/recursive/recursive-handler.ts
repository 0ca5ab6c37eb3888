// DNS-ISP's Handler: a caching recursive resolver for labs, answering clients from the cache or by iterating.
import type {Handler, Request, ResponseWriter} from '../../dns/handler.js'
import {Flag, RRClass, Rcode, RRType} from '../../dns/wire/constants.js'
import {InfraCache} from '../../resolver/infra-cache.js'
import {IterativeResolver, type ResolverOptions} from '../../resolver/iterative-resolver.js'
import type {Resolution} from '../../resolver/resolution.js'
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
}

export interface RecursiveOptions {
  resolver: Omit<ResolverOptions, 'cache' | 'infra' | 'onHop'>
  allow: readonly string[]
  cache?: {maxEntries?: number; maxTtl?: number}
  maxInflight?: number
  failureTtlMs?: number
  /** Called once per finished resolution (for the failure log). */
  onResolved?: (r: Resolution) => void
}

/** Resolver options from an isp.json state. */
export function recursiveOptionsFromState(s: IspState): RecursiveOptions {
  return {
    resolver: {
      startServers: s.root, port: s.upstreamPort, source: s.egress, qnameMinimisation: s.qnameMinimisation,
      minimiseType: s.minimiseType, queryTimeoutMs: s.queryTimeout, minQueryTimeoutMs: s.minQueryTimeout, timeLimitMs: s.resolutionTimeout, maxQueries: s.maxQueries,
    },
    allow: s.allow,
    cache: s.cache,
    maxInflight: s.maxInflight,
    failureTtlMs: s.failureTtl,
  }
}

/**
 * Recursion for allowed clients (RD=1): a cache hit is answered at once with TTLs counted down; a miss is
 * resolved iteratively from the egress address, and identical misses in flight share one resolution. RD=0
 * queries are answered from the cache only. Everything goes out with RA set; failures are SERVFAIL and are
 * remembered briefly (RFC 9520) so a broken zone is not hammered.
 */
export class RecursiveHandler implements Handler {
  readonly stats: RecursiveStats = {queries: 0, hits: 0, resolutions: 0, joined: 0, upstream: 0, refused: 0, servfail: 0}
  private resolver!: IterativeResolver
  private cache!: ResolverCache
  private allow!: ClientAllowList
  private options!: RecursiveOptions
  private readonly inflight = new Map<string, Promise<Resolution>>()
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
    const sameCache = this.options && JSON.stringify(this.options.cache ?? {}) === JSON.stringify(o.cache ?? {})
    if (!sameCache) this.cache = new ResolverCache(o.cache)
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
    const hit = this.resolver.fromCache(qname, qtype)
    if (hit) {
      this.stats.hits++
      this.answer(w, hit)
      return
    }
    if (!(header.flags & Flag.RD)) {
      // Not asked to recurse and not in the cache: nothing to say (RFC 1034 §4.3.1 leaves this to us).
      this.stats.refused++
      w.reply({rcode: Rcode.REFUSED, ra: true})
      return
    }
    const key = `${qtype}|${qname}`
    const failedUntil = this.failures.get(key)
    if (failedUntil !== undefined && failedUntil > Date.now()) {
      this.stats.servfail++
      w.reply({rcode: Rcode.SERVFAIL, ra: true})
      return
    }
    let p = this.inflight.get(key)
    if (p) {
      this.stats.joined++
    } else {
      if (this.inflight.size >= (this.options.maxInflight ?? 1000)) {
        this.stats.servfail++
        w.reply({rcode: Rcode.SERVFAIL, ra: true})
        return
      }
      this.stats.resolutions++
      p = this.resolver.resolve(qname, qtype).then((r) => {
        if (r.status === 'failed') this.failures.set(key, Date.now() + (this.options.failureTtlMs ?? 1000))
        this.options.onResolved?.(r)
        return r
      }).finally(() => this.inflight.delete(key))
      this.inflight.set(key, p)
    }
    return p.then((r) => this.answer(w, r))
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
