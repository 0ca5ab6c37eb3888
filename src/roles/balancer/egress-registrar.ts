// Discovery and registration, DNS-LB side (ARCHITECTURE.md "Discovery" and "Registrations"): learn the ISP
// resolver's egress by whoami, register "egress/32 -> this DNS-LB" with every DNS-B, renew before the lease
// ends, move the registration when the egress changes, and in direct mode push measurements too.
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

/** What this DNS-LB registers as: its label and the addresses resolvers should ask. */
export interface LbIdentity {
  label: string
  addresses: string[]
}

/**
 * The DNS operations the registrar needs. src/registration provides them (`registrationClient()` adapts
 * it); tests may pass their own.
 */
export interface RegistrationClient {
  /** Asks `resolver` (RD=1) for `<nonce>.whoami.<zone> A` and returns the address DNS-B saw: the egress. */
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
  isp: {resolver: string; port: number}
  dnsbs: DnsbTarget[]
  lb: LbIdentity
  /** Registration lease, seconds (the record TTL). */
  lease: number
  mode: 'referral' | 'direct'
  discoveryIntervalMs: number
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
  /** Told each time the discovered egress changes (the handler uses it to know its own resolver). */
  onEgress?: (egress: string) => void
  /** Counts each attempt's outcome (metrics): operation is discovery, register, deregister or push. */
  count?: (operation: 'discovery' | 'register' | 'deregister' | 'push', ok: boolean) => void
  /** First retry delay after a failure; doubles up to the discovery interval. Default 1000. */
  retryMs?: number
}

/** The registrar's view, for status output and tests. */
export interface RegistrarStatus {
  egress: string | null
  registered: Record<string, {prefix: string; at: number} | null>
  discoveries: number
  registrations: number
  deregistrations: number
  pushes: number
}

interface PerDnsb {
  target: DnsbTarget
  timer?: NodeJS.Timeout
  failures: number
  registered: {prefix: string; at: number} | null
  pushTimer?: NodeJS.Timeout
  pushFailures: number
}

/** Runs discovery, registration, renewal and pushes in the background until `stop()`. Never throws. */
export class EgressRegistrar {
  private egress: string | null = null
  private discoveryTimer?: NodeJS.Timeout
  private discoveryFailures = 0
  private stopped = true
  private readonly per: PerDnsb[]
  private inFlight = new Set<Promise<unknown>>()
  readonly stats = {discoveries: 0, registrations: 0, deregistrations: 0, pushes: 0}

  constructor(private readonly o: RegistrarOptions) {
    this.per = o.dnsbs.map((target) => ({target, failures: 0, registered: null, pushFailures: 0}))
  }

  start(): void {
    this.stopped = false
    this.discoveryTimer = setTimeout(() => this.discover(), 0)
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
    for (const p of this.per) registered[p.target.server] = p.registered
    return {egress: this.egress, registered, ...this.stats}
  }

  /** Runs discovery now (instead of at the next interval). */
  discoverNow(): Promise<void> {
    clearTimeout(this.discoveryTimer)
    return this.discover()
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.inFlight.add(p)
    void p.finally(() => this.inFlight.delete(p)).catch(() => {})
    return p
  }

  private get timeoutMs(): number {
    return this.o.timeoutMs ?? 1000
  }

  private backoff(failures: number): number {
    return Math.min(this.o.discoveryIntervalMs, (this.o.retryMs ?? 1000) * 2 ** Math.min(failures - 1, 16))
  }

  private async discover(): Promise<void> {
    if (this.stopped) return
    const {resolver, port} = this.o.isp
    const zone = this.o.dnsbs[0]?.zone ?? ''
    let next = this.o.discoveryIntervalMs
    try {
      const egress = await this.track(this.o.client.discoverEgress({resolver, port, zone, source: this.o.source, timeoutMs: this.o.discoveryTimeoutMs ?? 3000}))
      if (this.stopped) return
      this.stats.discoveries++
      this.o.count?.('discovery', true)
      this.discoveryFailures = 0
      this.o.problems.ok('discovery', `discovery through ${resolver} works again: egress ${egress}`)
      if (egress !== this.egress) {
        const old = this.egress
        this.egress = egress
        this.o.onEgress?.(egress)
        this.o.log(old ? `resolver ${resolver} egress changed from ${old} to ${egress}: moving the registration` : `resolver ${resolver} egress is ${egress}`)
        this.moveRegistrations(old)
      }
    } catch (err) {
      this.discoveryFailures++
      this.o.count?.('discovery', false)
      next = this.backoff(this.discoveryFailures)
      this.o.problems.fail('discovery', `cannot discover the egress of resolver ${resolver}:${port}: ${(err as Error).message} (retrying with backoff)`)
    }
    if (!this.stopped) this.discoveryTimer = setTimeout(() => void this.discover(), next)
  }

  private moveRegistrations(old: string | null): void {
    for (const p of this.per) {
      clearTimeout(p.timer)
      p.failures = 0
      if (old && p.registered) void this.deregister(p, p.registered.prefix)
      p.registered = null
      void this.register(p)
      if (this.o.mode === 'direct' && !p.pushTimer) p.pushTimer = setTimeout(() => void this.push(p), 0)
    }
  }

  private prefixFor(egress: string): string {
    return `${egress}/${egress.includes(':') ? 128 : 32}`
  }

  private async register(p: PerDnsb): Promise<void> {
    if (this.stopped || !this.egress) return
    const egress = this.egress
    const prefix = this.prefixFor(egress)
    const key = `register ${p.target.server}`
    let next: number
    try {
      await this.track(this.o.client.register({...p.target, prefix, lb: this.o.lb, lease: this.o.lease, source: this.o.source, timeoutMs: this.timeoutMs}))
      if (this.stopped) return
      if (egress !== this.egress) return // moved meanwhile: the newer registration owns the timer
      this.stats.registrations++
      this.o.count?.('register', true)
      p.failures = 0
      p.registered = {prefix, at: Date.now()}
      this.o.problems.ok(key, `registration with DNS-B ${p.target.server} works again`)
      // Renew at half the lease: one lost renewal still leaves time for the retry before the lease ends.
      next = Math.max(1000, (this.o.lease * 1000) / 2)
    } catch (err) {
      if (egress !== this.egress) return
      this.o.count?.('register', false)
      p.failures++
      next = Math.min(this.backoff(p.failures), Math.max(1000, (this.o.lease * 1000) / 4))
      this.o.problems.fail(key, `cannot register ${prefix} -> ${this.o.lb.label} with DNS-B ${p.target.server}: ${(err as Error).message} (retrying with backoff)`)
    }
    if (!this.stopped) p.timer = setTimeout(() => void this.register(p), next)
  }

  private async deregister(p: PerDnsb, prefix: string): Promise<void> {
    try {
      await this.track(this.o.client.deregister({...p.target, prefix, lb: this.o.lb, source: this.o.source, timeoutMs: this.timeoutMs}))
      this.stats.deregistrations++
      this.o.count?.('deregister', true)
    } catch (err) {
      this.o.count?.('deregister', false)
      // Best effort: the stale entry expires with its lease anyway.
      this.o.problems.fail(`deregister ${p.target.server}`, `cannot remove the old registration ${prefix} from DNS-B ${p.target.server}: ${(err as Error).message} (it expires with its lease)`)
    }
  }

  private async push(p: PerDnsb): Promise<void> {
    if (this.stopped || !this.o.measurements) return
    const key = `push ${p.target.server}`
    let next = this.o.pushIntervalMs ?? Math.max(1000, (this.o.lease * 1000) / 2)
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
