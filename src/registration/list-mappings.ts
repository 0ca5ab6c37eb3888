// Reads a DNS-B's mapping table over DNS (a signed AXFR of its zone) into rows for `glb map list`.
import {RRType} from '../dns/wire/constants.js'
import {canonicalName} from '../dns/wire/name.js'
import {formatPrefix} from '../mapping/index.js'
import {keyFrom, parseDnsTarget} from './register.js'
import {lbLabelOf, parseMeasurement, parseRegistrationName, type Measurement} from './registration-records.js'
import type {DnsTarget} from './send-update.js'
import {transferZone} from './transfer-zone.js'
import type {TsigKey} from '../dns/tsig/tsig-keyring.js'

/** One lease: resolver prefix -> DNS-LB, with the seconds left (the record's TTL). */
export interface MappingRow {
  prefix: string
  lb: string
  addrs: string[]
  /** The names the DNS-LB declared it serves; absent: it declared none (every name). */
  names?: string[]
  ttl: number
}

/** What a DNS-B holds. */
export interface MappingListing {
  server: string
  zone: string
  serial: number
  mappings: MappingRow[]
  lbs: {label: string; addrs: string[]; names?: string[]; ttl: number}[]
  measurements: {label: string; ttl: number; servers: Measurement[]}[]
}

export interface ListMappingsOptions {
  b: string | DnsTarget
  zone: string
  key: TsigKey | string
  timeoutMs?: number
  source?: string
}

/** Transfers the DNS-B zone and returns its registrations, sorted by prefix text then LB. */
export async function listMappings(o: ListMappingsOptions): Promise<MappingListing> {
  const zone = canonicalName(o.zone)
  const server = typeof o.b === 'string' ? parseDnsTarget(o.b) : o.b
  const records = await transferZone({server, zone, key: keyFrom(o.key), timeoutMs: o.timeoutMs, source: o.source})
  const lbs = new Map<string, {label: string; addrs: string[]; names?: string[]; ttl: number}>()
  const maps: {prefix: string; label: string; ttl: number}[] = []
  const measurements: MappingListing['measurements'] = []
  let serial = 0
  for (const r of records) {
    if (r.type === RRType.SOA && r.name === zone) serial = (r.data as {serial: number}).serial
    const kind = parseRegistrationName(r.name, zone)
    if (!kind) continue
    if (kind.kind === 'map' && r.type === RRType.PTR) {
      const label = lbLabelOf(r.data as string, zone)
      if (label) maps.push({prefix: formatPrefix(kind.prefix), label, ttl: r.ttl})
    } else if (kind.kind === 'lb' && (r.type === RRType.A || r.type === RRType.AAAA)) {
      const lb = lbs.get(kind.label) ?? {label: kind.label, addrs: [], ttl: r.ttl}
      lb.addrs.push(r.data as string)
      lbs.set(kind.label, lb)
    } else if (kind.kind === 'lb' && r.type === RRType.TXT) {
      const lb = lbs.get(kind.label) ?? {label: kind.label, addrs: [], ttl: r.ttl}
      lb.names = [...(r.data as string[])]
      lbs.set(kind.label, lb)
    } else if (kind.kind === 'measurements' && r.type === RRType.TXT) {
      const servers = (r.data as string[]).map(parseMeasurement).filter((m): m is Measurement => m !== null)
      measurements.push({label: kind.label, ttl: r.ttl, servers})
    }
  }
  const mappings = maps.map((m) => {
    const lb = lbs.get(m.label)
    return {prefix: m.prefix, lb: m.label, addrs: lb?.addrs ?? [], ...(lb?.names ? {names: lb.names} : {}), ttl: m.ttl}
  })
  mappings.sort((a, b) => (a.prefix < b.prefix ? -1 : a.prefix > b.prefix ? 1 : a.lb < b.lb ? -1 : a.lb > b.lb ? 1 : 0))
  const where = server.address.includes(':') ? `[${server.address}]:${server.port}` : `${server.address}:${server.port}`
  return {server: where, zone, serial, mappings, lbs: [...lbs.values()], measurements}
}
