// The DNS-B state file (b.json): its zone, the load-balanced names, referral and default policy, keys, persistence.
import {dirname, basename, join, resolve} from 'node:path'
import {z} from 'zod'
import {dnsName, durationMs, ipAddress, normalizeDnsName, prefix, ttl, tsigKey} from '../../state/fields.js'
import {isSubdomain} from '../../dns/wire/name.js'
import {LB_LABEL} from '../../registration/registration-records.js'

const label = z.string({error: 'a DNS-LB label such as "lb1"'}).regex(LB_LABEL, {error: 'a DNS-LB label: one host-name label such as "lb1"'})
const poolName = z.string().regex(/^[a-z0-9_-]{1,63}$/i, {error: 'a pool name: one DNS label'})
const server = z.string({error: 'a server ADDR[:PORT], e.g. 127.0.0.10 or 127.0.0.10:5300'})

export const referralStateSchema = z.object({
  listen: z.array(z.string()).optional(),
  /** The zone DNS-A delegates to the DNS-Bs, e.g. glb.example.test. */
  zone: dnsName,
  /** The zone's NS names and their addresses (glue): every DNS-B of the zone, each inside it. */
  ns: z.array(z.object({name: dnsName, address: ipAddress})).min(1, {error: 'at least one NS name with its address'}),
  /** TTL of the zone's own records (SOA, NS, glue, pools). */
  ttl: ttl.default(300),
  soa: z.object({
    rname: dnsName.optional(),
    refresh: ttl.default(3600),
    retry: ttl.default(600),
    expire: ttl.default(86400),
    minimum: ttl.default(30),
  }).default({refresh: 3600, retry: 600, expire: 86400, minimum: 30}),
  /** Load-balanced names, relative to the zone ("www") or absolute; pools add theirs. */
  names: z.array(z.string()).default([]),
  /** TTL of the referral's NS and glue: how long a resolver keeps asking the same DNS-LB. */
  referralTtl: ttl.default(30),
  /** "referral": refer to the mapped DNS-LB; "direct": answer with the best server by its measurements. */
  mode: z.enum(['referral', 'direct']).default('referral'),
  /** TTL of direct answers (direct mode, or the all-servers default). */
  directTtl: ttl.default(20),
  /**
   * Sources whose EDNS Client Subnet is honoured (prefixes; default none): DNS-B decides by the querier's address,
   * and only queries from these (the DNS-LBs, for the second-NS relay) are decided by the subnet they carry. See
   * README "ECS" for why (RFC 7871 §7.4, §11).
   */
  ecsFrom: z.array(prefix).default([]),
  /** Replaced by ecsFrom; "ignore" still loads (it is the default now), "use" is an error naming the new field. */
  ecs: z.enum(['use', 'ignore'], {error: '"ignore" or nothing: use "ecsFrom": ["PREFIX", ...] instead'}).optional(),
  /** For a resolver without a mapping: the busiest DNS-LB nearby, a named one, or every server directly. */
  noMapping: z.union([z.enum(['busiest', 'all-servers']), z.object({lb: label})]).default('busiest'),
  /** The second DNS-LB of a referral when the mapped prefix has only one. */
  backup: label.optional(),
  /** DNS-LBs known without registering (never expire). */
  lbs: z.array(z.object({label, addrs: z.array(ipAddress).min(1)})).default([]),
  keys: z.array(tsigKey).default([]),
  /** Keys that may send UPDATEs (registrations); default every key. */
  updateKeys: z.array(dnsName).optional(),
  /**
   * Keys limited to some DNS-LB labels (key name -> labels), e.g. each DNS-LB with its own key: such a key
   * touches only those labels' addresses (<label>.lbs), measurements (<label>.m) and mappings (map PTRs naming
   * <label>.lbs), and may not clear a whole prefix. Keys not listed are limited by updateKeys only.
   */
  keyLabels: z.record(z.string(), z.array(label).min(1, {error: 'at least one DNS-LB label'})).optional(),
  /** Who may transfer the zone (AXFR over TCP): keys (default every key) and unsigned from these prefixes. */
  transfer: z.object({keys: z.array(dnsName).optional(), addresses: z.array(prefix).default([])}).default({addresses: []}),
  /** The mapping data file, relative to the state file; default "<state>.mappings.json" beside it. */
  mappings: z.string().min(1).optional(),
  /**
   * Response rate limiting of referral and whoami answers over UDP (src/dns/rate-limit.ts), per client prefix;
   * past the limit every slip-th answer is truncated (TC=1) and empty and the rest are dropped. On by default;
   * false turns it off. Loopback is exempt by default (it cannot be forged from off the host).
   */
  rateLimit: z.union([z.literal(false), z.object({
    responsesPerSecond: z.number().int().min(1).default(100),
    slip: z.number().int().min(0).max(10).default(2),
    ipv4PrefixLength: z.number().int().min(0).max(32).default(24),
    ipv6PrefixLength: z.number().int().min(0).max(128).default(56),
    exempt: z.array(prefix).default(['127.0.0.0/8', '::1/128']),
  })]).default({responsesPerSecond: 100, slip: 2, ipv4PrefixLength: 24, ipv6PrefixLength: 56, exempt: ['127.0.0.0/8', '::1/128']}),
  /** Longest lease accepted; a longer registration TTL is cut to this. */
  maxLeaseTtl: ttl.default(86400),
  /** How often lapsed leases are dropped from memory (lookups ignore them at once). */
  sweepMs: durationMs.default(5000),
  /** Pools read from DNS-A over DNS (P._pool.ZONE, polling the SOA serial) and republished here. */
  pools: z.object({
    server,
    zone: dnsName,
    names: z.array(poolName).min(1),
    refreshMs: durationMs.default(5000),
  }).optional(),
  /** Announce this DNS-B to DNS-A (delegation NS + glue) by a signed UPDATE at start and every intervalMs. */
  announce: z.object({
    server,
    zone: dnsName,
    key: dnsName,
    name: dnsName,
    addrs: z.array(ipAddress).min(1),
    ttl: ttl.default(300),
    intervalMs: durationMs.default(600_000),
  }).optional(),
}).superRefine((s, ctx) => {
  const issue = (path: (string | number)[], message: string) => ctx.addIssue({code: 'custom', message, path})
  s.ns.forEach((n, i) => {
    if (!isSubdomain(n.name, s.zone)) issue(['ns', i, 'name'], `a name inside ${s.zone} (resolvers use in-bailiwick glue only)`)
  })
  s.names.forEach((n, i) => {
    const abs = resolveName(s.zone, n)
    if (!abs) issue(['names', i], `a name inside ${s.zone}, one label or more below it (e.g. "www")`)
    else if (RESERVED.has(abs.slice(0, -(s.zone.length + 1)).split('.').pop()!)) issue(['names', i], 'a name outside the reserved map, lbs, m, whoami and _pool subtrees')
  })
  if (s.ecs === 'use') issue(['ecs'], '"ignore" or no "ecs" at all: DNS-B honours ECS only from the sources in "ecsFrom": ["PREFIX", ...] (the DNS-LBs\' addresses), since any client could claim any subnet')
  const keyNames = new Set(s.keys.map((k) => k.name))
  const checkKeys = (list: string[] | undefined, path: string[]) => list?.forEach((k, i) => {
    if (!keyNames.has(k)) issue([...path, i], `the name of a key in "keys"`)
  })
  checkKeys(s.updateKeys, ['updateKeys'])
  for (const k of Object.keys(s.keyLabels ?? {})) {
    const n = normalizeDnsName(k)
    if (typeof n !== 'string' || !keyNames.has(n)) issue(['keyLabels', k], 'the name of a key in "keys"')
  }
  checkKeys(s.transfer.keys, ['transfer', 'keys'])
  if (s.announce && !keyNames.has(s.announce.key)) issue(['announce', 'key'], 'the name of a key in "keys"')
  if (s.announce && !isSubdomain(s.announce.name, s.zone)) issue(['announce', 'name'], `a name inside ${s.zone}`)
})

export type ReferralState = z.output<typeof referralStateSchema>

/** keyLabels with canonical key names, for RegistrationStore; null when no key is limited. */
export function keyLabelsOf(state: ReferralState): Map<string, ReadonlySet<string>> | null {
  if (!state.keyLabels) return null
  const out = new Map<string, ReadonlySet<string>>()
  for (const [k, labels] of Object.entries(state.keyLabels)) out.set(normalizeDnsName(k) as string, new Set(labels))
  return out
}

/** Subtrees of the DNS-B zone that are not load-balanced names. */
export const RESERVED = new Set(['map', 'lbs', 'm', 'whoami', '_pool'])

/** A load-balanced name from the state ("www" or "www.glb.example.test.") as an FQDN strictly inside zone. */
export function resolveName(zone: string, name: string): string | null {
  const abs = name.endsWith('.') ? name : `${name}.${zone}`
  const n = normalizeDnsName(abs)
  if (typeof n !== 'string' || n === zone || !isSubdomain(n, zone)) return null
  return n
}

/** Where the mapping data lives: `mappings` relative to the state file, else "<state>.mappings.json" beside it. */
export function mappingsPath(stateFile: string, state: ReferralState): string {
  const dir = dirname(resolve(stateFile))
  if (state.mappings) return resolve(dir, state.mappings)
  return join(dir, basename(stateFile).replace(/\.json$/i, '') + '.mappings.json')
}
