// The RegistrationClient a running DNS-LB uses: src/registration's discovery, UPDATE and push, one DNS-B at a time.
import {deregister, discoverEgress, pushMeasurements, register} from '../../registration/index.js'
import type {DnsBOutcome} from '../../registration/index.js'
import type {RegistrationClient} from './egress-registrar.js'

/**
 * Adapts src/registration to the registrar: each call addresses one DNS-B (the registrar keeps a lease and
 * a retry per DNS-B), and a DNS-B that refuses or does not answer becomes a rejection with its message.
 */
export function registrationClient(): RegistrationClient {
  return {
    discoverEgress: (o) => discoverEgress({resolver: o.resolver, port: o.port, zone: o.zone, source: o.source, timeoutMs: o.timeoutMs}),
    async register(o) {
      one(await register({bs: [{address: o.server, port: o.port}], zone: o.zone, key: o.key, timeoutMs: o.timeoutMs, source: o.source, lb: {label: o.lb.label, addrs: o.lb.addresses, names: o.lb.names}, isp: o.prefix, ttl: o.lease}))
    },
    async deregister(o) {
      one(await deregister({bs: [{address: o.server, port: o.port}], zone: o.zone, key: o.key, timeoutMs: o.timeoutMs, source: o.source, lb: {label: o.lb.label}, isp: o.prefix}))
    },
    async pushMeasurements(o) {
      // Only servers with a verdict and an RTT are pushed: DNS-B must not mistake "not measured" for "down".
      const measurements = o.measurements
        .filter((m) => m.srttMs !== null && m.up !== null)
        .map((m) => ({address: m.address, srttMs: m.srttMs!, lossPct: m.lossPct ?? 0, up: m.up!}))
      one(await pushMeasurements({bs: [{address: o.server, port: o.port}], zone: o.zone, key: o.key, timeoutMs: o.timeoutMs, source: o.source, label: o.lb.label, measurements, ttl: o.lease}))
    },
  }
}

function one(outcomes: DnsBOutcome[]): void {
  const o = outcomes[0]
  if (!o) throw new Error('no DNS-B was asked')
  if (!o.ok) throw new Error(`${o.b}: ${o.message}`)
}
