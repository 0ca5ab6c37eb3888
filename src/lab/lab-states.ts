// The state file of every role of a lab, derived from its topology: one place says how the roles connect.
import {randomBytes} from 'node:crypto'
import {egressOf, labNames, type Topology} from './topology.js'

/** Ports the lab uses: DNS on `dns` for every role; the content servers' HTTP port for probes; each glb role's
 * Prometheus endpoint (`glb status --metrics ROLE_ADDR:PORT`) on `metrics` at the role's own address. */
export interface LabPorts {
  dns: number
  http: number
  metrics: number
}

/**
 * The lab's ports: 53/80 and metrics on 9153 (the usual DNS exporter port) as root, else `dns` given by --port,
 * HTTP on the next port and metrics two above (TCP on the roles' addresses: the content servers' UDP echo there
 * is on other addresses), so a lab on a high port never collides with one on 53.
 */
export function labPorts(port: number | undefined): LabPorts {
  if (port === undefined || port === 53) return {dns: 53, http: 80, metrics: 9153}
  return {dns: port, http: port + 1, metrics: port + 2}
}

const at = (addr: string, port: number) => (port === 53 ? addr : `${addr}:${port}`)

/** A fresh TSIG key for one lab run: the DNS-LBs sign registrations with it, `glb map list` reads with it. */
export function labKey(): {name: string; algorithm: string; secret: string} {
  return {name: 'lab-key.', algorithm: 'hmac-sha256', secret: randomBytes(32).toString('base64')}
}

export interface LabStates {
  root: object
  a: object
  bs: object[]
  lbs: object[]
  isps: object[]
}

/** Builds every role's state for topology `t`. `matrixFile` is where the content servers read their delays. */
export function labStates(t: Topology, ports: LabPorts, key: ReturnType<typeof labKey>): LabStates {
  const names = labNames(t)
  const bNames = t.bs.map((addr, i) => ({name: `b${i + 1}.${t.lbZone}`, address: addr}))
  const soa = (mname: string, minimum: number) => ({mname, rname: `hostmaster.${t.zone}`, serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum})
  const root = {
    listen: [at(t.root, ports.dns)],
    zones: [{
      origin: '.', ttl: 86400, soa: soa('a.root-servers.test.', 60),
      records: [
        {name: '@', type: 'NS', data: 'a.root-servers.test.'},
        {name: 'a.root-servers.test.', type: 'A', data: t.root},
        {name: t.zone, type: 'NS', data: `ns1.${t.zone}`},
        {name: `ns1.${t.zone}`, type: 'A', data: t.a},
      ],
    }],
  }
  const a = {
    listen: [at(t.a, ports.dns)],
    zones: [{
      origin: t.zone, ttl: 300, soa: soa(`ns1.${t.zone}`, 60),
      records: [
        {name: '@', type: 'NS', data: `ns1.${t.zone}`},
        {name: 'ns1', type: 'A', data: t.a},
        ...names.map((n) => ({name: n.name, type: 'CNAME', data: `${n.name}.${t.lbZone}`})),
        ...bNames.map((b) => ({name: t.lbZone, type: 'NS', data: b.name})),
        ...bNames.map((b) => ({name: b.name, type: 'A', data: b.address})),
      ],
    }],
    pools: Object.fromEntries(names.map((n) => [n.name, {name: `${n.name}.${t.lbZone}`, servers: n.servers.map((address) => ({address}))}])),
  }
  const bs = t.bs.map((addr, i) => ({
    listen: [at(addr, ports.dns)],
    zone: t.lbZone,
    ns: bNames,
    ttl: 300,
    names: names.map((n) => n.name),
    referralTtl: t.ttl.referral,
    directTtl: t.ttl.answer,
    // The DNS-LBs' second-NS relay asks with the resolver's address as ECS; nobody else's ECS counts.
    ecsFrom: t.pops.map((p) => `${p.lb}/32`),
    keys: [key],
    transfer: {keys: [key.name], addresses: ['127.0.0.0/8']},
    mappings: `b${i + 1}.mappings.json`,
    pools: {server: at(t.a, ports.dns), zone: t.zone, names: names.map((n) => n.name), refreshMs: 2000},
  }))
  const lbs = t.pops.map((p) => ({
    listen: [at(p.lb, ports.dns)],
    label: p.label,
    // Every name this POP serves (www everywhere; api not at POP 3 in the default lab), each with its pool.
    names: names.filter((n) => n.pops.includes(p.label)).map((n) => ({
      zone: `${n.name}.${t.lbZone}`,
      pool: {from: {servers: [t.a], port: ports.dns, name: `${n.name}._pool.${t.zone}`, refresh: 2000}},
    })),
    ttl: t.ttl.answer,
    zoneTtl: 300,
    probe: {method: t.probe.method, port: t.probe.method === 'http' ? ports.http : undefined, interval: t.probe.intervalMs, timeout: t.probe.timeoutMs, source: p.lb},
    select: {count: 1, upThreshold: t.probe.upAfter, downThreshold: t.probe.downAfter, fallback: 'all'},
    measurements: {file: `${p.label}.measurements.json`, interval: 5000},
    isp: {resolver: p.isp, port: ports.dns},
    dnsb: {addresses: t.bs, port: ports.dns, zone: t.lbZone, key, lease: t.ttl.lease, mode: 'referral'},
    discoveryInterval: t.discoveryIntervalMs,
  }))
  const isps = t.pops.map((p) => ({
    listen: [at(p.isp, ports.dns)],
    egress: egressOf(p).length > 1 ? egressOf(p) : egressOf(p)[0],
    root: [t.root],
    upstreamPort: ports.dns,
  }))
  return {root, a, bs, lbs, isps}
}
