// Discovery and registration, DNS-LB side (ARCHITECTURE.md "Discovery" and "Registrations"): the ISP resolver is a
// set of egress addresses (a resolver farm sends from many, over IPv4 and IPv6). Each round asks several whoami, and
// every egress seen is registered "egress/32 (/128) -> this DNS-LB" with every DNS-B with its own lease, renewed
// while it keeps being seen; one no longer seen is left to lapse by its lease. The configured isp.prefixes are
// registered as they are and always renewed. In direct mode measurements are pushed too.
import type {TsigKey} from '../../dns/tsig/tsig-keyring.js'
import type {ProblemLog} from './problem-log.js'

/** One measured server as pushed in direct mode: `"<addr> srtt=MS loss=PCT up=0|1"`. */
export interface PushedMeasurement {
  address: string
  srttMs: number | null
  lossPct: number | null
  up: boolean | null
}

/** Where a DNS-B is and how to sign for it. */
export interface DnsbTarget {
  server: string
  port: number
  zone: string
  key: TsigKey
}

/** What this DNS-LB registers as: its label, the addresses resolvers should ask, the names it serves (FQDNs). */
export interface LbIdentity {
  label: string
  addresses: string[]
  names?: string[]
}

/**
 * The DNS operations the registrar needs. src/registration provides them (`registrationClient()` adapts
 * it); tests may pass their own.
 */
export interface RegistrationClient {
  /** Asks `resolver` (RD=1) for `<nonce>.whoami.<zone>` and returns the address DNS-B saw: one egress. */
  discoverEgress(o: {resolver: string; port: number; zone: string; source?: string; timeoutMs: number}): Promise<string>
  /** Registers `prefix -> lb` with one DNS-B for `lease` seconds (delete + add: also a renewal). */
  register(o: DnsbTarget & {prefix: string; lb: LbIdentity; lease: number; source?: string; timeoutMs: number}): Promise<void>
  /** Removes the registration of `prefix -> lb`. */
  deregister(o: DnsbTarget & {prefix: string; lb: LbIdentity; source?: string; timeoutMs: number}): Promise<void>
  /** Direct mode: replaces `<label>.m.<zone>` TXT with the measurements, for `lease` seconds. */
  pushMeasurements(o: DnsbTarget & {lb: LbIdentity; measurements: PushedMeasurement[]; lease: number; source?: string; timeoutMs: number}): Promise<void>
}

/** How the registrar runs. */
export interface RegistrarOptions {
  client: RegistrationClient
  /** The resolver asked for whoami, and prefixes of its egress known in advance (registered as they are). */
  isp: {resolver: string; port: number; prefixes?: string[]}
  dnsbs: DnsbTarget[]
  lb: LbIdentity
  /** Registration lease, seconds (the record TTL). */
  lease: number
  mode: 'referral' | 'direct'
  /** How often a discovery round runs; at least every quarter lease, so a seen egress is renewed in time. */
  discoveryIntervalMs: number
  /** whoami queries per round: a farm answers each from one of its egresses. Default 4. */
  whoamiPerRound?: number
  /** Source address of discovery and UPDATE messages (the DNS-LB's own). */
  source?: string
  /** Direct mode: the measurements to push, read when a push is due. */
  measurements?: () => PushedMeasurement[]
  /** Direct mode: how often measurements are pushed. Default: half the lease. */
  pushIntervalMs?: number
  /** Discovery: how long to wait for the resolver (it may recurse to DNS-B first). Default 3000. */
  discoveryTimeoutMs?: number
  /** UPDATEs: how long to wait for one try (src/registration tries three times). Default 1000. */
  timeoutMs?: number
  problems: ProblemLog
  log: (message: string) => void
  /** Told the egress set each time it changes (the handler uses it to know its own resolver). */
  onEgress?: (egresses: readonly string[]) => void
  /** Counts each attempt's outcome (metrics): operation is discovery, register, deregister or push. */
  count?: (operation: 'discovery' | 'register' | 'deregister' | 'push', ok: boolean) => void
  /** First retry delay after a failure; doubles up to the discovery interval. Default 1000. */
  retryMs?: number
  /** Milliseconds clock (tests). */
  now?: () => number
}

/** The registrar's view, for status output and tests. */
export interface RegistrarStatus {
  /** The egress the last round saw last (null before the first answer). */
  egress: string | null
  /** Every egress seen within the last lease, sorted. */
  egresses: string[]
  /** isp.prefixes, registered as they are. */
  prefixes: string[]
  /** Per DNS-B, the last registration that succeeded (kept for scripts that read one). */
  registered: Record<string, {prefix: string; at: number} | null>
  /** Per DNS-B, every prefix registered and when (ms since the epoch). */
  leases: Record<string, Record<string, number>>
  discoveries: number
  registrations: number
  deregistrations: number
  pushes: number
}

interface PerDnsb {
  target: DnsbTarget
  timer?: NodeJS.Timeout
  failures: number
  /** prefix -> when its registration last succeeded (Date.now()). */
  leases: Map<string, number>
  last: {prefix: string; at: number} | null
  /** Prefixes to (re)register, in order; a retry resumes here. */
  due: string[]
  syncing: boolean
  pushTimer?: NodeJS.Timeout
  pushFailures: number
}

/** Runs discovery, registration, renewal and pushes in the background until `stop()`. Never throws. */
export class EgressRegistrar {
  /** address -> when it was last seen (ms). */
  private readonly seen = new Map<string, number>()
  private lastEgress: string | null = null
  private discoveryTimer?: NodeJS.Timeout
  private discoveryFailures = 0
  private stopped = true
  private readonly per: PerDnsb[]
  private readonly prefixes: string[]
  private inFlight = new Set<Promise<unknown>>()
  private readonly now: () => number
  readonly stats = {discoveries: 0, registrations: 0, deregistrations: 0, pushes: 0}

  constructor(private readonly o: RegistrarOptions) {
    this.now = o.now ?? Date.now
    this.prefixes = [...(o.isp.prefixes ?? [])]
    this.per = o.dnsbs.map((target) => ({target, failures: 0, leases: new Map(), last: null, due: [], syncing: false, pushFailures: 0}))
  }

  start(): void {
    this.stopped = false
    this.discoveryTimer = setTimeout(() => void this.round(), 0)
  }

  /** Stops every timer and waits for operations in flight (registrations are left to expire by lease). */
  async stop(): Promise<void> {
    this.stopped = true
    clearTimeout(this.discoveryTimer)
    for (const p of this.per) {
      clearTimeout(p.timer)
      clearTimeout(p.pushTimer)
    }
    await Promise.allSettled([...this.inFlight])
  }

  status(): RegistrarStatus {
    const registered: RegistrarStatus['registered'] = {}
    const leases: RegistrarStatus['leases'] = {}
    for (const p of this.per) {
      registered[p.target.server] = p.last
      leases[p.target.server] = Object.fromEntries(p.leases)
    }
    return {egress: this.lastEgress, egresses: this.egresses(), prefixes: [...this.prefixes], registered, leases, ...this.stats}
  }

  /** Every egress seen within the last lease, sorted: with isp.prefixes, this DNS-LB's own resolver. */
  egresses(): string[] {
    return [...this.seen.keys()].sort()
  }

  /** Runs a discovery round now (instead of at the next interval). */
  discoverNow(): Promise<void> {
    clearTimeout(this.discoveryTimer)
    return this.round()
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.inFlight.add(p)
    void p.finally(() => this.inFlight.delete(p)).catch(() => {})
    return p
  }

  private get timeoutMs(): number {
    return this.o.timeoutMs ?? 1000
  }

  private get leaseMs(): number {
    return this.o.lease * 1000
  }

  /** A round at least every quarter lease: a registration is renewed at a third of it (below), twice per lease. */
  private get roundMs(): number {
    return Math.max(250, Math.min(this.o.discoveryIntervalMs, this.leaseMs / 4))
  }

  private backoff(failures: number): number {
    return Math.min(this.roundMs, (this.o.retryMs ?? 1000) * 2 ** Math.min(failures - 1, 16))
  }

  /** One round: ask several whoami, note every egress seen, forget those unseen for a lease, register what is due. */
  private async round(): Promise<void> {
    if (this.stopped) return
    const {resolver, port} = this.o.isp
    const zone = this.o.dnsbs[0]?.zone ?? ''
    const asks = Math.max(1, this.o.whoamiPerRound ?? 4)
    const results = await this.track(Promise.allSettled(Array.from({length: asks}, () =>
      this.o.client.discoverEgress({resolver, port, zone, source: this.o.source, timeoutMs: this.o.discoveryTimeoutMs ?? 3000}))))
    if (this.stopped) return
    const now = this.now()
    const before = this.egresses().join(',')
    const fresh: string[] = []
    let answered = 0
    let lastError: unknown = null
    for (const r of results) {
      if (r.status === 'rejected') { lastError = r.reason; continue }
      answered++
      if (!this.seen.has(r.value)) fresh.push(r.value)
      this.seen.set(r.value, now)
      this.lastEgress = r.value
    }
    let next = this.roundMs
    if (answered > 0) {
      this.stats.discoveries++
      this.o.count?.('discovery', true)
      this.discoveryFailures = 0
      this.o.problems.ok('discovery', `discovery through ${resolver} works again: egress ${this.egresses().join(', ')}`)
    } else {
      this.discoveryFailures++
      this.o.count?.('discovery', false)
      next = this.backoff(this.discoveryFailures)
      this.o.problems.fail('discovery', `cannot discover the egress of resolver ${resolver}:${port}: ${(lastError as Error)?.message ?? 'no answer'} (retrying with backoff)`)
    }
    for (const e of new Set(fresh)) this.o.log(`resolver ${resolver} egress ${e} seen: registering it (${this.seen.size} egress address${this.seen.size === 1 ? '' : 'es'})`)
    // Unseen for a whole lease: its registrations have lapsed at every DNS-B (none was renewed after it was last seen).
    // A round with no answer at all says nothing about which egresses are in use: nothing lapses for it.
    for (const [e, at] of this.seen) {
      if (answered === 0 || now - at < this.leaseMs) continue
      this.seen.delete(e)
      for (const p of this.per) p.leases.delete(prefixFor(e))
      this.o.log(`resolver ${resolver} egress ${e} not seen for a lease (${this.o.lease} s): its registration lapsed`)
    }
    if (this.egresses().join(',') !== before) this.o.onEgress?.(this.egresses())
    // Renewed: the egresses seen in this round; when discovery fails (resolver down, an answer that is not an
    // address), every egress known, so a discovery problem never drops what is registered.
    const renew = new Set<string>()
    if (answered > 0) for (const r of results) { if (r.status === 'fulfilled') renew.add(prefixFor(r.value)) }
    else for (const e of this.seen.keys()) renew.add(prefixFor(e))
    this.schedule(now, renew)
    if (!this.stopped) this.discoveryTimer = setTimeout(() => void this.round(), next)
  }

  /**
   * What each DNS-B gets this round: the isp.prefixes and every egress seen in this round (`seenNow`), each when it
   * has no lease there yet or its lease is a third gone. Only an egress seen now is renewed, so a registration never
   * outlives the last sighting by more than one lease (while discovery works).
   */
  private schedule(now: number, seenNow: ReadonlySet<string>): void {
    const renewAfter = this.leaseMs / 3
    for (const p of this.per) {
      const due = new Set(p.due.filter((x) => this.prefixes.includes(x) || seenNow.has(x)))
      for (const x of [...this.prefixes, ...seenNow]) {
        const at = p.leases.get(x)
        if (at === undefined || now - at >= renewAfter) due.add(x)
      }
      p.due = [...due]
      if (p.due.length && !p.syncing && p.failures === 0) void this.sync(p)
      if (this.o.mode === 'direct' && !p.pushTimer && p.due.length) p.pushTimer = setTimeout(() => void this.push(p), 0)
    }
  }

  /** Registers a DNS-B's due prefixes one UPDATE each; on a failure retries from there with backoff. */
  private async sync(p: PerDnsb): Promise<void> {
    if (this.stopped || p.syncing) return
    p.syncing = true
    const key = `register ${p.target.server}`
    try {
      while (p.due.length && !this.stopped) {
        const prefix = p.due[0]!
        try {
          await this.track(this.o.client.register({...p.target, prefix, lb: this.o.lb, lease: this.o.lease, source: this.o.source, timeoutMs: this.timeoutMs}))
        } catch (err) {
          if (this.stopped) return
          this.o.count?.('register', false)
          p.failures++
          this.o.problems.fail(key, `cannot register ${prefix} -> ${this.o.lb.label} with DNS-B ${p.target.server}: ${(err as Error).message} (retrying with backoff)`)
          clearTimeout(p.timer)
          p.timer = setTimeout(() => void this.sync(p), this.backoff(p.failures))
          return
        }
        if (this.stopped) return
        const at = this.now()
        this.stats.registrations++
        this.o.count?.('register', true)
        p.due.shift()
        // An egress that lapsed while its UPDATE was out is not kept: the lease it got still runs out by itself.
        if (this.prefixes.includes(prefix) || [...this.seen.keys()].some((e) => prefixFor(e) === prefix)) p.leases.set(prefix, at)
        p.last = {prefix, at}
        if (p.failures) this.o.problems.ok(key, `registration with DNS-B ${p.target.server} works again`)
        p.failures = 0
      }
    } finally {
      p.syncing = false
    }
  }

  private async push(p: PerDnsb): Promise<void> {
    if (this.stopped || !this.o.measurements) return
    const key = `push ${p.target.server}`
    let next = this.o.pushIntervalMs ?? Math.max(1000, this.leaseMs / 2)
    try {
      await this.track(this.o.client.pushMeasurements({...p.target, lb: this.o.lb, measurements: this.o.measurements(), lease: this.o.lease, source: this.o.source, timeoutMs: this.timeoutMs}))
      this.stats.pushes++
      this.o.count?.('push', true)
      p.pushFailures = 0
      this.o.problems.ok(key, `pushing measurements to DNS-B ${p.target.server} works again`)
    } catch (err) {
      p.pushFailures++
      this.o.count?.('push', false)
      next = Math.min(next, this.backoff(p.pushFailures))
      this.o.problems.fail(key, `cannot push measurements to DNS-B ${p.target.server}: ${(err as Error).message} (retrying with backoff)`)
    }
    if (!this.stopped) p.pushTimer = setTimeout(() => void this.push(p), next)
  }
}

/** An egress address as the prefix it is registered as: /32 for IPv4, /128 for IPv6. */
function prefixFor(egress: string): string {
  return `${egress}/${egress.includes(':') ? 128 : 32}`
}
