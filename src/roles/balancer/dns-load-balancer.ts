// DNS-LB: keeps the pool, probes it from its own address, turns samples into a choice, and swaps in prepared
// answers only when the choice changes; persists its measurements, and discovers and registers itself.
import net from 'node:net'
import {parseListen} from '../../dns/listen-address.js'
import {createTsigKey} from '../../dns/tsig/tsig-keyring.js'
import type {GlbMetrics} from '../../observe/metrics.js'
import {createProber, DEFAULT_PORTS} from '../../probe/create-prober.js'
import {probeTarget} from '../../probe/prober.js'
import type {ProbeTarget, Sample} from '../../probe/prober.js'
import {ProbeScheduler} from '../../probe/scheduler.js'
import {HealthTable} from '../../select/health-table.js'
import type {HealthOptions} from '../../select/server-health.js'
import {select} from '../../select/select.js'
import type {Selection, SelectOptions} from '../../select/select.js'
import {AnswerSet} from './balancer-answers.js'
import {BalancerHandler} from './balancer-handler.js'
import {measurementsPath} from './balancer-state.js'
import type {BalancerState, PoolServer} from './balancer-state.js'
import {ClientAllowList} from '../client-allow-list.js'
import {DnsPoolWatcher} from './dns-pool-watcher.js'
import {EgressRegistrar} from './egress-registrar.js'
import type {PushedMeasurement, RegistrationClient} from './egress-registrar.js'
import {explainStrings} from './explain-text.js'
import {loadMeasurements, measurementsJSON, saveMeasurements} from './measurement-file.js'
import {ProblemLog} from './problem-log.js'
import {RttMedianFilter} from './rtt-median-filter.js'
import {SecondNsRelay} from './second-ns-relay.js'
import type {LogFn} from './problem-log.js'

/** How to build a DNS-LB. */
export interface BalancerOptions {
  state: BalancerState
  /** The state file's path: the measurements file is found beside it. */
  stateFile: string
  /** The listen specs in force (--listen, else the state's): the default probe source and the NS glue. */
  listen: string[]
  log?: LogFn
  /** The DNS operations for discovery and registration; needed when the state has a `dnsb` block. */
  registrationClient?: RegistrationClient
  /** Shared metrics: queries by type and rcode, probe gauges per server, registration outcomes. */
  metrics?: GlbMetrics
  /** Called after each change of the answer (tests count flaps with it). */
  onAnswerChange?: (answer: {A: string[]; AAAA: string[]; servfail: {A: boolean; AAAA: boolean}}) => void
  /**
   * Several workers serving one address (`glb serve lb --workers N`): the leader probes, polls the pool,
   * registers and persists, and publishes what it learns; a follower does none of that and applies the
   * leader's events, so every worker holds the same measurements and gives the same answers.
   */
  workers?: {leader: true; publish(event: LeaderEvent, replayKey?: string): void} | {leader: false}
  /**
   * Several names in one process (balancer-group.ts): only one member discovers and registers (`register`
   * false for the others), declaring every name served (`servedNames`; default this member's zone), and tells
   * the group each egress set (`onEgress`) so every member knows its own resolver.
   */
  register?: boolean
  servedNames?: string[]
  onEgress?: (egresses: readonly string[]) => void
}

/** What a leader worker publishes to its followers. */
export type LeaderEvent =
  | {kind: 'sample'; address: string; sample: Sample}
  | {kind: 'pool'; servers: PoolServer[]; zone?: string}
  | {kind: 'egress'; addresses: string[]}

/** Counters for tests, metrics and status output. */
export interface BalancerStats {
  samples: number
  recomputes: number
  answerChanges: number
  persisted: number
}

/** A running (or ready-to-run) DNS-LB. `handler` is what the DNS server serves. */
export class DnsLoadBalancer {
  readonly handler: BalancerHandler
  readonly stats: BalancerStats = {samples: 0, recomputes: 0, answerChanges: 0, persisted: 0}
  private state: BalancerState
  private table: HealthTable
  private pool: PoolServer[]
  private selection: Selection
  private best: {A?: string; AAAA?: string} = {}
  private allow: ClientAllowList
  private scheduler: ProbeScheduler | null = null
  private poolWatcher: DnsPoolWatcher | null = null
  private registrar: EgressRegistrar | null = null
  private persistTimer: NodeJS.Timeout | undefined
  private warmTimer: NodeJS.Timeout | undefined
  /** Set while the first probe round is not in: the whole pool is answered meanwhile. */
  private warming: boolean
  private dirty = false
  private serial = Math.floor(Date.now() / 1000)
  private started = false
  private readonly problems: ProblemLog
  private readonly log: LogFn
  private pending = new Set<Promise<unknown>>()
  private readonly median = new RttMedianFilter()
  /** Each server's last logged up/down state: a change is one log line. */
  private readonly loggedUp = new Map<string, boolean>()

  private constructor(private readonly o: BalancerOptions, table: HealthTable, initialPool: PoolServer[]) {
    this.state = o.state
    this.log = o.log ?? (() => {})
    this.problems = new ProblemLog(this.log)
    this.table = table
    this.pool = initialPool
    for (const address of table.addresses()) {
      const srtt = table.get(address)?.srttMs
      if (srtt !== null && srtt !== undefined) this.median.seed(address, srtt)
    }
    // Warm-up only when nothing of the pool was measured: partial persisted figures are better than none.
    this.warming = !this.anyMeasured()
    this.allow = new ClientAllowList(o.state.explain.allow)
    this.selection = this.runSelect()
    const answers = new AnswerSet(this.answerInputs(this.selection))
    this.handler = new BalancerHandler(answers, {allows: (a) => this.allow.allows(a), explain: () => this.explain()}, o.metrics?.forRole('lb'))
    this.handler.setRelay(this.secondNsRelay())
    this.handler.setHome(o.state.isp?.prefixes ?? [])
  }

  /** Builds the DNS-LB from its state and its persisted measurements (read here; nothing is sent yet). */
  static async create(o: BalancerOptions): Promise<DnsLoadBalancer> {
    const log = o.log ?? (() => {})
    const loaded = await loadMeasurements(measurementsPath(o.stateFile, o.state), {source: probeSource(o.state, o.listen), method: o.state.probe.method}, healthOptions(o.state), o.state.measurements.maxAge)
    if (loaded.note) log(loaded.table ? 'info' : 'warn', loaded.note)
    const table = loaded.table ?? new HealthTable(healthOptions(o.state))
    // A pool read over DNS is not known until the first fetch: start from the servers measured last time.
    const pool = 'servers' in o.state.pool ? o.state.pool.servers : table.addresses().map((address) => ({address, weight: 1, cost: 0}))
    return new DnsLoadBalancer(o, table, pool)
  }

  /** Starts probing, pool polling, persisting and registration. Answers are served from the first moment. */
  start(): void {
    if (this.started) return
    this.started = true
    if (this.o.workers?.leader === false) {
      if (this.warming) this.startWarmUp() // the leader's samples arrive through apply()
      return
    }
    this.startProbing()
    this.startPoolWatcher()
    if (this.o.register !== false) this.startRegistrar()
    this.armPersist()
  }

  /** Stops everything and writes the latest measurements one last time. */
  async close(): Promise<void> {
    this.started = false
    clearInterval(this.persistTimer)
    clearTimeout(this.warmTimer)
    await Promise.allSettled([this.scheduler?.stop(), this.poolWatcher?.stop(), this.registrar?.stop(), ...this.pending])
    this.scheduler = null
    this.poolWatcher = null
    this.registrar = null
    await this.persistNow()
  }

  /** Started, and probing/registering itself (not a follower worker). */
  private get active(): boolean {
    return this.started && this.o.workers?.leader !== false
  }

  /** A follower takes one event its leader published. */
  apply(event: LeaderEvent): void {
    if (event.kind === 'sample') {
      if (this.pool.some((s) => s.address === event.address)) this.onSample(this.target(event.address), event.sample)
    } else if (event.kind === 'pool') {
      // Several names: each member takes its own name's pool.
      if (event.zone === undefined || event.zone === this.state.zone) this.setPool(event.servers)
    } else {
      this.handler.setHomeAddresses(event.addresses)
    }
  }

  /** Takes a new state (a reload): what changed is restarted, the rest keeps running. */
  reload(next: BalancerState): void {
    const prev = this.state
    this.state = next
    const changed = (f: (s: BalancerState) => unknown) => JSON.stringify(f(prev)) !== JSON.stringify(f(next))
    this.allow = new ClientAllowList(next.explain.allow)
    if (changed(healthOptions)) this.table = HealthTable.fromJSON(this.table.toJSON(), healthOptions(next))
    if (changed((s) => [s.probe, probeSource(s, this.o.listen)]) && this.active) {
      this.track(this.scheduler?.stop())
      this.scheduler = null
      this.startProbing()
    }
    if (changed((s) => s.pool)) {
      if ('servers' in next.pool) this.setPool(next.pool.servers)
      if (this.active) {
        this.track(this.poolWatcher?.stop())
        this.poolWatcher = null
        this.startPoolWatcher()
      }
    }
    if (changed((s) => [s.dnsb, s.label, s.zone, s.probe.source])) this.handler.setRelay(this.secondNsRelay())
    this.handler.setHome(next.isp?.prefixes ?? [])
    if (changed((s) => [s.dnsb, s.isp, s.discoveryInterval, s.label]) && this.active && this.o.register !== false) {
      this.track(this.registrar?.stop())
      this.registrar = null
      this.startRegistrar()
    }
    if (changed((s) => s.measurements.interval) && this.active) this.armPersist()
    this.recompute(true)
  }

  /** The answer in force. */
  get answer(): {A: string[]; AAAA: string[]; servfail: {A: boolean; AAAA: boolean}} {
    const i = this.handler.current.inputs
    return {A: i.answers.A, AAAA: i.answers.AAAA, servfail: i.servfail}
  }

  /** The pool in force. */
  get servers(): readonly PoolServer[] {
    return this.pool
  }

  /** The health table (read-only use: tests and status). */
  get health(): HealthTable {
    return this.table
  }

  /** Discovery and registration status, when configured. */
  get registration(): EgressRegistrar | null {
    return this.registrar
  }

  /** The `_explain` TXT strings for the answer in force (brought up to date first). */
  explain(): string[] {
    this.recompute()
    const s = this.state
    const i = this.handler.current.inputs
    return explainStrings(
      {
        answer: i.answers, servfail: i.servfail, ttl: s.ttl, count: s.select.count, hysteresisMs: s.select.hysteresisMs,
        hysteresisPct: s.select.hysteresisPct, fallback: s.select.fallback, phase: this.warming ? 'warm-up' : 'measured', label: s.label,
      },
      this.selection.reasons,
    )
  }

  /** Writes the measurements now if any sample arrived since the last write. */
  async persistNow(): Promise<void> {
    if (!this.dirty || this.o.workers?.leader === false) return // one writer: the leader
    this.dirty = false
    const file = measurementsPath(this.o.stateFile, this.state)
    const s = this.state
    try {
      const m = measurementsJSON({label: s.label, zone: s.zone, source: probeSource(s, this.o.listen), method: s.probe.method}, this.table, this.answer, this.selection.reasons)
      await saveMeasurements(file, m)
      this.stats.persisted++
      this.problems.ok('persist', `writing ${file} works again`)
    } catch (err) {
      this.dirty = true
      this.problems.fail('persist', `cannot write measurements: ${(err as Error).message}`)
    }
  }

  // ------------------------------------------------------------------------------------------ the choice

  private anyMeasured(): boolean {
    return this.pool.some((s) => (this.table.get(s.address)?.samples ?? 0) > 0)
  }

  private allMeasured(): boolean {
    return this.pool.length > 0 && this.pool.every((s) => (this.table.get(s.address)?.samples ?? 0) > 0)
  }

  private selectOptions(): SelectOptions {
    const s = this.state.select
    return {
      count: s.count,
      fallback: s.fallback,
      hysteresis: {absoluteMs: s.hysteresisMs, relative: s.hysteresisPct / 100},
      policy: {loadWeight: s.loadWeight, lossWeight: s.lossWeight, costWeight: s.costWeight},
      current: this.best,
    }
  }

  private runSelect(): Selection {
    return select(this.table, this.pool, this.selectOptions())
  }

  private answerInputs(sel: Selection) {
    const s = this.state
    let answers = sel.answers
    let servfail = {A: sel.outcome.A === 'servfail', AAAA: sel.outcome.AAAA === 'servfail'}
    if (this.pool.length === 0) {
      // No pool yet (read over DNS and not fetched): "not ready" is honest, an empty success is not.
      servfail = {A: true, AAAA: true}
    } else if (this.warming) {
      // Until the first round is in, answer the whole pool rather than whichever server replied first.
      answers = {A: this.pool.filter((x) => net.isIPv4(x.address)).map((x) => x.address), AAAA: this.pool.filter((x) => net.isIPv6(x.address)).map((x) => x.address)}
      servfail = {A: false, AAAA: false}
    }
    return {
      origin: s.zone,
      label: s.label,
      nsAddresses: ownAddresses(this.o.listen, probeSource(s, this.o.listen)),
      ttl: s.ttl,
      zoneTtl: s.zoneTtl,
      serial: this.serial,
      answers,
      servfail,
    }
  }

  /**
   * Selects again and, when the answer (or, with `force`, anything the answers are built from) changed,
   * swaps in freshly prepared answers. Called on measurement changes, pool changes and reloads only.
   */
  private recompute(force = false): void {
    this.stats.recomputes++
    if (this.warming && this.allMeasured()) this.warming = false
    const sel = this.runSelect()
    this.selection = sel
    if (!this.warming) this.best = sel.best
    const next = this.answerInputs(sel)
    const cur = this.handler.current.inputs
    const same = JSON.stringify([next.answers, next.servfail]) === JSON.stringify([cur.answers, cur.servfail])
    if (same && !force) return
    if (same && JSON.stringify(next) === JSON.stringify({...cur, serial: this.serial})) return
    this.serial = (this.serial + 1) >>> 0
    this.handler.setAnswers(new AnswerSet({...next, serial: this.serial}))
    if (same) return
    this.exportAnswer(next.answers.A.concat(next.answers.AAAA))
    this.stats.answerChanges++
    this.log('info', `answer ${describe(next)} (was ${describe(cur)})`)
    this.o.onAnswerChange?.({A: next.answers.A, AAAA: next.answers.AAAA, servfail: next.servfail})
  }

  /** answer_server{server}: 1 for the servers answered, 0 for the rest of the pool (answer changes only, never per query). */
  private exportAnswer(answered: string[]): void {
    const m = this.o.metrics
    if (!m) return
    const on = new Set(answered)
    for (const s of this.pool) if (!on.has(s.address)) m.answerServer.set({server: s.address}, 0)
    for (const a of on) m.answerServer.set({server: a}, 1)
  }

  private setPool(servers: PoolServer[]): void {
    const w = this.o.workers
    if (w?.leader) w.publish({kind: 'pool', servers, zone: this.state.zone}, `pool ${this.state.zone}`)
    const before = new Set(this.pool.map((s) => s.address))
    const after = new Set(servers.map((s) => s.address))
    this.pool = servers
    for (const a of before) {
      if (after.has(a)) continue
      this.table.delete(a)
      this.median.delete(a)
      this.loggedUp.delete(a)
      const m = this.o.metrics
      if (m) for (const g of [m.probeRttSeconds, m.probeUp, m.probeLoss, m.answerServer]) g.remove({server: a})
    }
    if (this.scheduler) {
      const port = this.probePort()
      for (const a of before) if (!after.has(a)) this.scheduler.remove(probeTarget(a, port).id)
      for (const a of after) if (!before.has(a)) this.scheduler.add(this.target(a))
    }
    // A server added to a measured pool waits for its own probes (select skips it until then); only a pool
    // with nothing measured (the first one read over DNS) warms up, answering all of it meanwhile.
    if (!this.anyMeasured() && this.scheduler) this.startWarmUp()
    this.recompute()
  }

  // ------------------------------------------------------------------------------------------ probing

  private probePort(): number {
    return this.state.probe.port ?? DEFAULT_PORTS[this.state.probe.method]
  }

  private target(address: string): ProbeTarget {
    const p = this.state.probe
    return probeTarget(address, this.probePort(), {...(p.path ? {path: p.path} : {}), ...(p.host ? {host: p.host} : {})})
  }

  private startProbing(): void {
    const p = this.state.probe
    const source = probeSource(this.state, this.o.listen) ?? undefined
    const prober = createProber(p.method, {timeoutMs: p.timeout, localAddress: source, ...(p.method === 'dns' && p.host ? {qname: p.host} : {})})
    const scheduler = new ProbeScheduler({
      prober,
      intervalMs: p.interval,
      localAddress: source,
      firstProbe: 'now',
      sink: (target, sample) => this.onSample(target, sample),
      onError: (target, err, where) => this.problems.fail(`probe-bug ${target.id}`, `probe of ${target.id} failed in the ${where} (a bug, not a measurement): ${err.message}`),
    })
    for (const s of this.pool) scheduler.add(this.target(s.address))
    scheduler.start()
    this.scheduler = scheduler
    if (this.warming) this.startWarmUp()
  }

  private startWarmUp(): void {
    this.warming = true
    clearTimeout(this.warmTimer)
    // One interval (plus jitter and the timeout) is one round: after it, select decides with what is in.
    const p = this.state.probe
    this.warmTimer = setTimeout(() => {
      this.warming = false
      this.recompute()
    }, p.interval * 1.1 + p.timeout + 50)
  }

  private onSample(target: ProbeTarget, sample: Sample): void {
    const w = this.o.workers
    if (w?.leader) w.publish({kind: 'sample', address: target.address, sample})
    this.stats.samples++
    this.dirty = true
    const changed = this.table.ingest(target.address, this.median.filter(target.address, sample))
    const health = this.table.get(target.address)
    if (health && health.up !== null && this.loggedUp.get(target.address) !== health.up) {
      this.loggedUp.set(target.address, health.up)
      if (health.up) this.log('info', `server ${target.address} is up (srtt ${health.srttMs?.toFixed(1) ?? '?'} ms)`)
      else this.log('warn', `server ${target.address} is down${sample.error ? ` (${sample.error})` : ''}`)
    }
    const m = this.o.metrics
    const h = m && health
    if (m && h) {
      const server = {server: target.address}
      if (h.srttMs !== null) m.probeRttSeconds.set(server, h.srttMs / 1000)
      if (h.up !== null) m.probeUp.set(server, h.up ? 1 : 0)
      m.probeLoss.set(server, h.loss ?? 0)
    }
    if (changed || (this.warming && this.allMeasured())) this.recompute()
  }

  // ------------------------------------------------------------------------------------------ pool, persistence, registration

  private startPoolWatcher(): void {
    const pool = this.state.pool
    if (!('from' in pool)) return
    this.poolWatcher = new DnsPoolWatcher(pool.from, this.state.zone, (servers) => {
      this.log('info', `pool ${pool.from.name}: ${servers.map((s) => s.address).join(', ')}`)
      this.setPool(servers)
    }, this.problems)
    this.poolWatcher.start()
  }

  private armPersist(): void {
    clearInterval(this.persistTimer)
    this.persistTimer = setInterval(() => this.track(this.persistNow()), this.state.measurements.interval)
  }

  private startRegistrar(): void {
    const s = this.state
    if (!s.dnsb || !s.isp) return
    const client = this.o.registrationClient
    if (!client) {
      this.problems.fail('registration-client', 'registration is configured (dnsb) but no registration client is available; not registering')
      return
    }
    const key = createTsigKey(s.dnsb.key.name, s.dnsb.key.algorithm, Buffer.from(s.dnsb.key.secret, 'base64'))
    const own = ownAddresses(this.o.listen, probeSource(s, this.o.listen))
    this.registrar = new EgressRegistrar({
      client,
      isp: s.isp,
      dnsbs: s.dnsb.addresses.map((server) => ({server, port: s.dnsb!.port, zone: s.dnsb!.zone, key})),
      lb: {label: s.label, addresses: [...own.A, ...own.AAAA], names: this.o.servedNames ?? [s.zone]},
      lease: s.dnsb.lease,
      mode: s.dnsb.mode,
      discoveryIntervalMs: s.discoveryInterval,
      source: probeSource(s, this.o.listen) ?? undefined,
      measurements: () => this.pushedMeasurements(),
      pushIntervalMs: Math.min(s.measurements.interval, (s.dnsb.lease * 1000) / 2),
      problems: this.problems,
      log: (m) => this.log('info', m),
      whoamiPerRound: s.isp.whoami,
      onEgress: (egresses) => {
        this.handler.setHomeAddresses(egresses)
        this.o.onEgress?.(egresses)
        const w = this.o.workers
        if (w?.leader) w.publish({kind: 'egress', addresses: [...egresses]}, 'egress')
      },
      count: (operation, ok) => this.o.metrics?.registrations.inc({result: ok ? 'ok' : 'error', reason: operation}),
    })
    this.registrar.start()
  }

  /**
   * With DNS-B referring resolvers (mode referral), a resolver that asks this DNS-LB as its second NS gets its own
   * DNS-LB's choice (second-ns-relay.ts). Other DNS-LBs are asked on this one's port, as resolvers ask them all on
   * one; with no fixed port (0, tests) there is no relay.
   */
  private secondNsRelay(): SecondNsRelay | null {
    const s = this.state
    const port = this.o.listen.length ? parseListen(this.o.listen[0]!).port : 0
    if (!s.dnsb || s.dnsb.mode !== 'referral' || port === 0) return null
    const source = probeSource(s, this.o.listen)
    const own = ownAddresses(this.o.listen, source)
    // Both series exist from the start (at 0), so rate() and dashboards see them before the first relay.
    for (const answer of ['relayed', 'own']) this.o.metrics?.secondNsAnswers.inc({answer}, 0)
    return new SecondNsRelay({
      dnsb: {addresses: s.dnsb.addresses, port: s.dnsb.port},
      zone: s.zone,
      self: `${s.label}.${s.zone}`,
      selfAddresses: [...own.A, ...own.AAAA],
      port,
      source: source ?? undefined,
      problems: this.problems,
      count: this.o.metrics ? (answer) => this.o.metrics!.secondNsAnswers.inc({answer}) : undefined,
    })
  }

  private pushedMeasurements(): PushedMeasurement[] {
    return this.selection.reasons.map((r) => ({address: r.address, srttMs: r.srttMs, lossPct: r.loss === null ? null : r.loss * 100, up: r.up}))
  }

  private track(p: Promise<unknown> | undefined): void {
    if (!p) return
    this.pending.add(p)
    void p.finally(() => this.pending.delete(p)).catch(() => {})
  }
}

/** ServerHealth tuning from the state's thresholds. */
function healthOptions(s: BalancerState): HealthOptions {
  return {alpha: s.select.alpha, upAfter: s.select.upThreshold, downAfter: s.select.downThreshold}
}

/** Where probes (and registrations) come from: the state's probe.source, else the first specific listen address. */
export function probeSource(s: BalancerState, listen: string[]): string | null {
  if (s.probe.source) return s.probe.source
  for (const spec of listen) {
    const a = parseListen(spec).address
    if (a !== '0.0.0.0' && a !== '::') return a
  }
  return null
}

/** This DNS-LB's own addresses (the NS name's glue and what it registers): specific listen addresses. */
function ownAddresses(listen: string[], source: string | null): {A: string[]; AAAA: string[]} {
  const all = new Set<string>()
  for (const spec of listen) {
    const a = parseListen(spec).address
    if (a !== '0.0.0.0' && a !== '::') all.add(a)
  }
  if (all.size === 0 && source) all.add(source)
  return {A: [...all].filter((a) => net.isIPv4(a)), AAAA: [...all].filter((a) => net.isIPv6(a))}
}

function describe(i: {answers: {A: string[]; AAAA: string[]}; servfail: {A: boolean; AAAA: boolean}}): string {
  const parts = [...i.answers.A, ...i.answers.AAAA]
  if (i.servfail.A || i.servfail.AAAA) parts.push(`SERVFAIL(${[i.servfail.A ? 'A' : '', i.servfail.AAAA ? 'AAAA' : ''].filter(Boolean).join(',')})`)
  return parts.join(',') || 'none'
}
