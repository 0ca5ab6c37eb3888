// The DNS-LB state file (lb.json): the zone it answers, where its pool comes from, how it probes and chooses,
// where it keeps its measurements, who may ask for explanations, and how it discovers and registers itself.
import {isAbsolute, dirname, join, basename} from 'node:path'
import {z} from 'zod'
import {dnsName, durationMs, ipAddress, port, prefix, ttl, tsigKey} from '../../state/fields.js'
import {PROBE_METHODS} from '../../probe/create-prober.js'
import {parsePrefix, prefixContains, type Prefix} from '../../mapping/index.js'
import type {ProbeMethod} from '../../probe/prober.js'

const label = z.string({error: 'a DNS-LB label: one DNS label such as "lb1"'})
  .regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, {error: 'a DNS-LB label: one DNS label such as "lb1" (lowercase letters, digits, "-")'})

const poolServer = z.object({
  address: ipAddress,
  weight: z.number().positive().default(1),
  cost: z.number().min(0).default(0),
  capacity: z.number().positive().optional(),
}).strict()

/** Where the pool comes from: listed here, or read over DNS from `P._pool.<zone>` (ARCHITECTURE.md "Pools"). */
const poolSchema = z.union([
  z.object({servers: z.array(poolServer).min(1, {error: 'at least one content server'})}).strict(),
  z.object({
    from: z.object({
      /** DNS-A (or a DNS-B) that publishes the pool; asked in order until one answers. */
      servers: z.array(ipAddress).min(1, {error: 'at least one server address'}),
      port: port.default(53),
      /** The pool's owner name, e.g. www._pool.example.test. */
      name: dnsName,
      /** How often the zone's SOA serial is checked. */
      refresh: durationMs.default(5000),
      timeout: durationMs.default(2000),
    }).strict(),
  }).strict(),
], {error: 'a pool: {"servers": [{"address": ...}]} or {"from": {"servers": [...], "name": "P._pool.ZONE"}}'})

const probeSchema = z.object({
  method: z.enum(PROBE_METHODS as [ProbeMethod, ...ProbeMethod[]]).default('http'),
  /** Port on every content server; default by method (http 80, https 443, dns 53, udp 7, tcp 80). */
  port: port.optional(),
  path: z.string().startsWith('/').optional(),
  /** HTTP Host / TLS SNI, or the DNS query name for the dns method. */
  host: z.string().optional(),
  interval: durationMs.default(2000),
  timeout: durationMs.default(1000),
  /** Source address of probes; default: the LB's own (first) listen address. */
  source: ipAddress.optional(),
}).strict()

const selectSchema = z.object({
  /** Addresses in an answer per family, best first. */
  count: z.number().int().min(1).max(32).default(1),
  /** Hysteresis: a challenger must beat the current best by more than max(hysteresisMs, hysteresisPct % of its score). */
  hysteresisMs: z.number().min(0).default(2),
  hysteresisPct: z.number().min(0).max(100).default(10),
  /**
   * SRTT gain α (src/select ServerHealth), applied to the median of the last three probes. RFC 6298's 1/8
   * suits per-packet TCP timing; at one probe per interval it takes ~6 probes to follow a changed path.
   * 0.75 after the median follows a changed path within two probes; the median (not the smoothing) keeps a
   * lone slow probe out, and the hysteresis margin keeps jitter from flapping the answer.
   */
  alpha: z.number().gt(0).max(1).default(0.75),
  /** Consecutive successes to mark a down server up again, failures to mark a server down (gdnsd's thresholds). */
  upThreshold: z.number().int().min(1).default(2),
  downThreshold: z.number().int().min(1).default(3),
  /** All servers of a family down: answer with every server ("all") or SERVFAIL. */
  fallback: z.enum(['all', 'servfail']).default('all'),
  /** Score weights (src/select/score.ts): load and loss stretch SRTT, cost adds ms. */
  loadWeight: z.number().min(0).optional(),
  lossWeight: z.number().min(0).optional(),
  costWeight: z.number().min(0).optional(),
}).strict()

const measurementsSchema = z.object({
  /** File the latest measurements are written to (relative to the state file's folder). */
  file: z.string().min(1).optional(),
  /** How often they are written (only when they changed). */
  interval: durationMs.default(10_000),
  /** Persisted measurements older than this are not used at start. */
  maxAge: durationMs.default(3_600_000),
}).strict()

const dnsbSchema = z.object({
  addresses: z.array(ipAddress).min(1, {error: 'at least one DNS-B address'}),
  port: port.default(53),
  /** DNS-B's zone, where registrations go (glb.example.test.). */
  zone: dnsName,
  key: tsigKey,
  /** Lease of a registration (the record TTL); renewed before it ends. */
  lease: ttl.default(300),
  /** referral: register "egress -> me"; direct: also push measurements for DNS-B to answer itself. */
  mode: z.enum(['referral', 'direct']).default('referral'),
}).strict()

/** One load-balanced name this DNS-LB serves: its zone and its pool (each name has its own pool and choice). */
const nameSchema = z.object({
  zone: dnsName,
  pool: poolSchema,
  /** Where this name's measurements are written (default "<state>.<first label>.measurements.json"). */
  measurementsFile: z.string().min(1).optional(),
}).strict()

const balancerObject = z.object({
  listen: z.array(z.string()).optional(),
  label,
  /** The load-balanced name, which is this DNS-LB's zone (www.glb.example.test.); or list them in `names`. */
  zone: dnsName.optional(),
  /**
   * Every load-balanced name this DNS-LB serves, each with its own pool, selection, answers and `_explain`
   * (ttl, probe, select, isp, dnsb are shared). Instead of `zone` + `pool` (the single-name form, still read).
   */
  names: z.array(nameSchema).optional(),
  /** TTL of the apex A/AAAA answer. */
  ttl: ttl.default(20),
  /** TTL of SOA/NS/glue records. */
  zoneTtl: ttl.default(300),
  pool: poolSchema.optional(),
  probe: probeSchema.default(() => probeSchema.parse({})),
  select: selectSchema.default(() => selectSchema.parse({})),
  measurements: measurementsSchema.default(() => measurementsSchema.parse({})),
  explain: z.object({allow: z.array(prefix).default(['127.0.0.0/8', '::1/128'])}).strict()
    .default(() => ({allow: ['127.0.0.0/8', '::1/128']})),
  /**
   * This DNS-LB's ISP resolver: a set of egress addresses. `resolver` is asked for whoami (`whoami` queries per
   * round; a farm answers each from one of its egresses); every egress seen is registered, and `prefixes` (the
   * farm's known ranges) are registered as they are.
   */
  isp: z.object({
    resolver: ipAddress,
    port: port.default(53),
    prefixes: z.array(prefix).default([]),
    whoami: z.number().int().min(1).max(32).default(4),
  }).strict().optional(),
  dnsb: dnsbSchema.optional(),
  discoveryInterval: durationMs.default(60_000),
}).strict().superRefine((s, ctx) => {
  if (s.names && (s.zone || s.pool)) ctx.addIssue({code: 'custom', message: 'either "names": [{"zone", "pool"}, ...] or "zone" + "pool", not both', path: ['names']})
  else if (s.names && s.names.length === 0) ctx.addIssue({code: 'custom', message: 'at least one load-balanced name {"zone", "pool"} (a DNS-LB serving no name has nothing to answer)', path: ['names']})
  else if (!s.names && !s.zone) ctx.addIssue({code: 'custom', message: 'the load-balanced name this DNS-LB serves (or "names": [{"zone", "pool"}, ...])', path: ['zone']})
  else if (!s.names && !s.pool) ctx.addIssue({code: 'custom', message: 'a pool: {"servers": [{"address": ...}]} or {"from": {"servers": [...], "name": "P._pool.ZONE"}}', path: ['pool']})
  const zones = (s.names ?? []).map((n) => n.zone)
  zones.forEach((z, i) => {
    if (zones.indexOf(z) !== i) ctx.addIssue({code: 'custom', message: `a name listed once (${z} is listed before)`, path: ['names', i, 'zone']})
    else if (zones.some((o, j) => j !== i && (z.endsWith('.' + o)))) ctx.addIssue({code: 'custom', message: `a name not inside another listed name (${z})`, path: ['names', i, 'zone']})
  })
  // Overlapping isp.prefixes would register the same clients twice under different keys (the longer one wins).
  const prefixes = (s.isp?.prefixes ?? []).map((p) => parsePrefix(p))
  const inside = (a: Prefix, b: Prefix) => b.len <= a.len && prefixContains(b, a.addr)
  for (let j = 1; j < prefixes.length; j++) {
    const b = prefixes[j]
    const i = prefixes.findIndex((a, k) => k < j && a && b && (inside(a, b) || inside(b, a)))
    if (i >= 0) ctx.addIssue({code: 'custom', message: `prefixes that do not overlap (${s.isp!.prefixes[j]} and ${s.isp!.prefixes[i]} overlap)`, path: ['isp', 'prefixes', j]})
  }
  if (s.dnsb && !s.isp) ctx.addIssue({code: 'custom', message: 'an "isp" block {resolver} (registration needs the discovered egress)', path: ['isp']})
  if (s.probe.interval < 1) ctx.addIssue({code: 'custom', message: 'a probe interval of at least 1 ms', path: ['probe', 'interval']})
})

/** The names in the single form too: `names` is always set, `zone`/`pool` are the first name's. */
export const balancerStateSchema = balancerObject.transform((s) => {
  const names = s.names ?? [{zone: s.zone!, pool: s.pool!}]
  return {...s, zone: names[0]!.zone, pool: names[0]!.pool, names}
})

export type BalancerState = z.output<typeof balancerStateSchema>
/** One load-balanced name of a DNS-LB's state. */
export type BalancerName = BalancerState['names'][number]
export type PoolServer = z.output<typeof poolServer>
export type PoolFromDns = Extract<BalancerState['pool'], {from: unknown}>['from']
export type DnsbConfig = z.output<typeof dnsbSchema>

/** Where measurements are persisted: the state's `measurements.file` beside the state file, else `<state>.measurements.json`. */
export function measurementsPath(stateFile: string, state: BalancerState): string {
  const f = state.measurements.file
  if (f) return isAbsolute(f) ? f : join(dirname(stateFile), f)
  return join(dirname(stateFile), basename(stateFile).replace(/\.json$/, '') + '.measurements.json')
}
