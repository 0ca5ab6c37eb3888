// A lab topology: which roles run where on loopback. The default one ships as fixtures/lab.json.
import {readFileSync} from 'node:fs'
import {z} from 'zod'
import {dnsName, ipv4Address} from '../state/fields.js'
import {parseStateText} from '../state/load-state-file.js'

const loopback = ipv4Address.refine((a) => a.startsWith('127.'), {error: 'a loopback address (127.0.0.0/8): a lab never leaves the machine'})

export const topologySchema = z.object({
  /** The customer zone DNS-A serves, and the subzone it delegates to the DNS-Bs. */
  zone: dnsName.default('example.test.'),
  lbZone: dnsName.default('glb.example.test.'),
  /** The load-balanced name's first label: NAME.zone is a CNAME to NAME.lbZone, which the DNS-LBs serve. */
  name: z.string().regex(/^[a-z0-9-]{1,63}$/).default('www'),
  /**
   * More load-balanced names, each with its own pool (`servers`, default all) and the POPs whose DNS-LB serves it
   * (`pops`: labels, default all). `name` is always served by every POP.
   */
  moreNames: z.array(z.object({
    name: z.string().regex(/^[a-z0-9-]{1,63}$/),
    servers: z.array(loopback).min(1).optional(),
    pops: z.array(z.string()).min(1).optional(),
  }).strict()).default([]),
  root: loopback.default('127.0.0.9'),
  a: loopback.default('127.0.0.10'),
  bs: z.array(loopback).min(1).default(['127.0.0.20', '127.0.0.21']),
  pops: z.array(z.object({
    label: z.string().regex(/^[a-z0-9-]{1,63}$/),
    lb: loopback,
    isp: loopback,
    /**
     * The ISP resolver's egress addresses (a farm; default [isp]). glb's resolver and unbound send from each in
     * turn (unbound: one outgoing-interface line each); BIND from the first only (one query-source).
     */
    egress: z.array(loopback).min(1).optional(),
  })).min(1),
  servers: z.array(loopback).min(1),
  /** Latency matrix file (relative to the topology file) or inline matrix. */
  matrix: z.union([z.string(), z.record(z.string(), z.unknown())]),
  probe: z.object({
    method: z.enum(['http', 'tcp', 'udp', 'dns']).default('http'),
    intervalMs: z.number().int().min(100).default(1000),
    timeoutMs: z.number().int().min(50).default(800),
    downAfter: z.number().int().min(1).default(3),
    upAfter: z.number().int().min(1).default(2),
  }).default({method: 'http', intervalMs: 1000, timeoutMs: 800, downAfter: 3, upAfter: 2}),
  ttl: z.object({
    /** TTL of the DNS-LB's answer. */
    answer: z.number().int().min(0).default(5),
    /** TTL of DNS-B's referral: bounds how long a resolver keeps asking the same DNS-LB. */
    referral: z.number().int().min(0).default(10),
    /** Registration lease at DNS-B. */
    lease: z.number().int().min(5).default(30),
  }).default({answer: 5, referral: 10, lease: 30}),
  /**
   * Network distance between POPs, which loopback lacks: a DNS-LB answers other POPs' resolvers this much later,
   * so resolvers (which pick among a referral's NS by measured RTT) prefer their own, nearer DNS-LB. Above 400 ms
   * because unbound picks at random among servers within 400 ms of the fastest (its RTT band); BIND and glb pick
   * the lowest smoothed RTT.
   */
  foreignDelayMs: z.number().int().min(0).max(2000).default(450),
  /** How often each DNS-LB asks its resolver "who am I". */
  discoveryIntervalMs: z.number().int().min(500).default(5000),
})

export type Topology = z.output<typeof topologySchema>

/** Every load-balanced name of the lab (first label), its pool and the POP labels serving it. */
export function labNames(t: Topology): {name: string; servers: string[]; pops: string[]}[] {
  const all = t.pops.map((p) => p.label)
  return [{name: t.name, servers: t.servers, pops: all}, ...t.moreNames.map((n) => ({name: n.name, servers: n.servers ?? t.servers, pops: n.pops ?? all}))]
}

/** A POP's ISP egress addresses: `egress`, else the resolver's own address. */
export function egressOf(p: Topology['pops'][number]): string[] {
  return p.egress ?? [p.isp]
}

/** The default topology's file, shipped with the package. */
export const DEFAULT_TOPOLOGY = new URL('../../fixtures/lab.json', import.meta.url).pathname

/** Loads and validates a topology file (errors name the file and field). */
export function loadTopology(file: string = DEFAULT_TOPOLOGY): Topology {
  return parseStateText(file, readFileSync(file, 'utf8'), topologySchema)
}
