// createMetrics: the prom-client registry and the metrics every glb role shares.
//
// Hot path: prom-client re-validates and hashes the label set on every inc()/observe(), even through a
// labels() child: ~0.8 µs per counter inc and ~1.2 µs per histogram observe, measured here. So the query path
// uses pre-bound handles that only add to a number, and the totals move into prom-client when /metrics is
// scraped (a counter's collect hook):
//
//   const m = metrics.forRole('lb')            // once, at start-up
//   m.countQuery('A', 'NOERROR')               // per query: two Map lookups and an add
//   m.observeAnswer(seconds)                   // per query: a short bucket scan
//   const hits = metrics.hot(metrics.cacheHits) // once; then hits.inc() per lookup
//
// Cold paths (registrations, probe results) may use the prom-client objects directly. Label values must
// come from a small set: map unknown qtypes to "OTHER" before counting. test/observe/metrics.test.ts
// measures the difference.
import {collectDefaultMetrics, Counter, Gauge, Registry} from 'prom-client'
import type {Metric} from 'prom-client'
import {FastHistogram} from './fast-histogram.js'

/** A pre-bound counter handle: inc() adds to a plain number that is flushed into the counter on scrape. */
export interface HotCounter {
  inc(n?: number): void
}

/** Pre-bound counting for one role's query path. */
export interface RoleMetrics {
  /** dns_queries_total{role, qtype, rcode} += 1, with children cached per (qtype, rcode). */
  countQuery(qtype: string, rcode: string): void
  /** dns_answer_seconds{role}.observe(seconds). */
  observeAnswer(seconds: number): void
}

/** The shared metrics, registered on their own registry (not prom-client's global one). */
export interface GlbMetrics {
  registry: Registry
  dnsQueries: Counter<'role' | 'qtype' | 'rcode'>
  dnsAnswerSeconds: FastHistogram<'role'>
  probeRttSeconds: Gauge<'server'>
  probeUp: Gauge<'server'>
  probeLoss: Gauge<'server'>
  mappings: Gauge
  /** Leases held by kind: "mapping" (resolver prefix -> DNS-LB), "lb" (a DNS-LB's addresses), "measurements". */
  leases: Gauge<'kind'>
  registrations: Counter<'result' | 'reason'>
  cacheHits: Counter
  cacheMisses: Counter
  /** DNS-LB answers to resolvers DNS-B refers to another DNS-LB first: "relayed" from it, or "own" when it was silent. */
  secondNsAnswers: Counter<'answer'>
  /** DNS-LB: 1 for each content server its answer holds now, 0 for the pool's others (set when the answer changes). */
  answerServer: Gauge<'server'>
  /** DNS-B: referrals given, by the DNS-LB named first (copied from the handler's counts at scrape time). */
  referrals: Counter<'lb'>
  /** Who serves these metrics: 1, labelled with the role, the log component and a name (a DNS-LB's label). */
  roleInfo: Gauge<'role' | 'component' | 'name'>
  /** Unix time the role started answering (set once it listens). */
  servingSince: Gauge
  /** State file reloads, by result ("ok", "failed": the last good state kept). */
  reloads: Counter<'result'>
  /** Unix time of the last successful reload. */
  lastReload: Gauge
  /** Unix time of the last error, labelled with its one-line message (one series: the latest replaces the one before). */
  lastError: Gauge<'message'>
  /** Hot-path helpers bound to `role` (cached: the same object for the same role). */
  forRole(role: string): RoleMetrics
  /** A pre-bound handle on one of this registry's counters for one label set (cached per label set). */
  hot<L extends string>(counter: Counter<L>, labels?: Partial<Record<L, string>>): HotCounter
  /**
   * Runs `fn` at the start of every scrape, before any metric is read: roles copy figures they keep anyway
   * (cache hit counts, table sizes) into gauges and hot counters there instead of on their hot paths.
   */
  beforeScrape(fn: () => void): void
}

export interface MetricsOptions {
  /** Also export process_* and nodejs_* metrics (CPU, memory, event-loop lag); default true. */
  processMetrics?: boolean
}

// DNS answers range from ~50 µs (cached, loopback) to seconds (an iterative resolution with timeouts).
const ANSWER_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]

/** Creates a registry holding the shared metrics. Each call is independent (tests may create several). */
export function createMetrics(opts: MetricsOptions = {}): GlbMetrics {
  const registry = new Registry()
  const registers = [registry]
  // Registered first, so its collect hook (which runs the beforeScrape callbacks) runs before any other
  // metric's: the registry reads metrics in registration order, each get() calling its collect() first.
  const hooks: (() => void)[] = []
  new Gauge({
    name: 'glb_up', help: 'Always 1 while the process serves metrics (scrape success, start time via process metrics).', registers,
    collect(this: Gauge) {
      this.set(1)
      for (const fn of hooks) fn()
    },
  })
  if (opts.processMetrics ?? true) collectDefaultMetrics({register: registry})

  // Pending increments from hot handles, per counter; each counter's collect() moves them in at scrape time.
  const pending = new Map<Counter<string>, Map<string, {labels: Record<string, string>; n: number}>>()
  function flush(this: Counter<string>): void {
    for (const slot of pending.get(this)?.values() ?? []) {
      if (slot.n === 0) continue
      this.inc(slot.labels, slot.n)
      slot.n = 0
    }
  }
  function counter<L extends string>(name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
    return new Counter<L>({name, help, labelNames, registers, collect: flush})
  }
  function gauge<L extends string>(name: string, help: string, labelNames: readonly L[] = []): Gauge<L> {
    return new Gauge<L>({name, help, labelNames, registers})
  }

  const dnsQueries = counter('dns_queries_total', 'DNS queries answered, by role, question type and response code.', ['role', 'qtype', 'rcode'] as const)
  const dnsAnswerSeconds = new FastHistogram('dns_answer_seconds', 'Time from receiving a DNS query to sending its answer.', ['role'] as const, ANSWER_BUCKETS)
  // The registry only reads name/help/type and get(); FastHistogram provides those (see fast-histogram.ts).
  registry.registerMetric(dnsAnswerSeconds as unknown as Metric)
  const probeRttSeconds = gauge('probe_rtt_seconds', 'Smoothed round-trip time of the last probes of a server.', ['server'] as const)
  const probeUp = gauge('probe_up', '1 when a server is considered up, 0 when down.', ['server'] as const)
  const probeLoss = gauge('probe_loss', 'Fraction of recent probes of a server that failed (0..1).', ['server'] as const)
  const mappings = gauge('mappings', 'Resolver-to-load-balancer mappings currently held.')
  const leases = gauge('leases', 'Leases held by a DNS-B, by kind (mapping, lb, measurements).', ['kind'] as const)
  const registrations = counter('registrations_total', 'Registration attempts, by result and reason.', ['result', 'reason'] as const)
  const cacheHits = counter('cache_hits_total', 'Cache lookups answered from the cache.')
  const cacheMisses = counter('cache_misses_total', 'Cache lookups that missed.')
  const answerServer = gauge('answer_server', 'DNS-LB: 1 for each content server it answers with now, 0 for the other servers of its pool.', ['server'] as const)
  const referrals = new Counter({name: 'referrals_total', help: 'DNS-B: referrals given, by the DNS-LB named first.', labelNames: ['lb'] as const, registers})
  const roleInfo = gauge('glb_role_info', 'Always 1: the role, log component and name of the process serving these metrics.', ['role', 'component', 'name'] as const)
  const servingSince = gauge('glb_serving_since_seconds', 'Unix time the role started answering.')
  const reloads = new Counter({name: 'glb_reloads_total', help: 'State file reloads, by result (ok; failed: the last good state is kept).', labelNames: ['result'] as const, registers})
  for (const result of ['ok', 'failed']) reloads.inc({result}, 0)
  const lastReload = gauge('glb_last_reload_seconds', 'Unix time of the last successful state file reload.')
  const lastError = gauge('glb_last_error_seconds', 'Unix time of the last error; the message label says what it was (latest only).', ['message'] as const)
  const secondNsAnswers = counter('second_ns_answers_total', 'DNS-LB answers to resolvers that DNS-B refers to another DNS-LB first: relayed from that DNS-LB, or this one\'s own when that one was silent.', ['answer'] as const)

  function hot<L extends string>(c: Counter<L>, labels: Partial<Record<L, string>> = {}): HotCounter {
    let slots = pending.get(c as Counter<string>)
    if (!slots) pending.set(c as Counter<string>, (slots = new Map()))
    const key = JSON.stringify(labels)
    let slot = slots.get(key)
    if (!slot) {
      // Register the label set now, so it is exported (as 0) before its first increment is flushed.
      c.inc(labels as Partial<Record<L, string | number>>, 0)
      slots.set(key, (slot = {labels: labels as Record<string, string>, n: 0}))
    }
    const s = slot
    return {
      inc(n = 1) {
        s.n += n
      },
    }
  }

  const roles = new Map<string, RoleMetrics>()
  function forRole(role: string): RoleMetrics {
    let m = roles.get(role)
    if (m) return m
    const byType = new Map<string, Map<string, HotCounter>>()
    const answer = dnsAnswerSeconds.labels(role)
    m = {
      countQuery(qtype, rcode) {
        let byRcode = byType.get(qtype)
        if (!byRcode) byType.set(qtype, (byRcode = new Map()))
        let h = byRcode.get(rcode)
        if (!h) byRcode.set(rcode, (h = hot(dnsQueries, {role, qtype, rcode})))
        h.inc()
      },
      observeAnswer(seconds) {
        answer.observe(seconds)
      },
    }
    roles.set(role, m)
    return m
  }

  return {
    registry, dnsQueries, dnsAnswerSeconds, probeRttSeconds, probeUp, probeLoss, mappings, leases, registrations, cacheHits, cacheMisses, secondNsAnswers, answerServer, referrals,
    roleInfo, servingSince, reloads, lastReload, lastError,
    forRole, hot, beforeScrape: (fn) => { hooks.push(fn) },
  }
}

/** Types counted by name in dns_queries_total; the rest are "OTHER", so label values stay a small set. */
const COUNTED_TYPES = new Map<number, string>([
  [1, 'A'], [2, 'NS'], [5, 'CNAME'], [6, 'SOA'], [12, 'PTR'], [15, 'MX'], [16, 'TXT'], [28, 'AAAA'], [33, 'SRV'], [43, 'DS'],
  [65, 'HTTPS'], [251, 'IXFR'], [252, 'AXFR'], [255, 'ANY'],
])

/** The qtype label of dns_queries_total: the type's name for common types, else "OTHER". */
export function qtypeLabel(qtype: number): string {
  return COUNTED_TYPES.get(qtype) ?? 'OTHER'
}
