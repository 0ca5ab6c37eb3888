// The DNS-A state file (a.json): zones, the content-server pools, and who may update delegations.
import {z} from 'zod'
import {isIPv4, isIPv6} from 'node:net'
import {dirname, resolve} from 'node:path'
import {RRType, typeFromName} from '../../dns/wire/constants.js'
import {dnsName, ipAddress, normalizeDnsName, ttl, tsigKey} from '../../state/fields.js'
import {isSubdomain} from '../../dns/wire/name.js'
import {Zone, type ZoneRecord} from './zone.js'
import {dsRdataFromFields, parseDsText} from '../../dnssec/rdata.js'
import {loadKeyFile} from '../../dnssec/key-file.js'
import type {SigningKey} from '../../dnssec/signing-key.js'
import {ZoneSigner} from '../../dnssec/zone-signer.js'

const soaSchema = z.object({
  mname: dnsName,
  rname: dnsName,
  serial: z.number().int().min(0).max(0xffffffff),
  refresh: ttl.default(3600),
  retry: ttl.default(600),
  expire: ttl.default(86400),
  minimum: ttl.default(60),
}).strict()

const recordSchema = z.object({
  name: z.string({error: 'a name relative to the zone ("www", "@") or absolute ("www.example.com.")'}),
  type: z.string({error: 'a record type such as "A", "AAAA", "NS", "CNAME", "TXT", "MX"'}),
  ttl: ttl.optional(),
  data: z.union([
    z.string(),
    z.array(z.string()),
    z.object({preference: z.number().int().min(0).max(65535), exchange: z.string()}).strict(),
  ], {error: 'record data: a string, a list of strings (TXT), or {preference, exchange} (MX)'}),
}).strict()

const serverSchema = z.object({
  address: ipAddress,
  weight: z.number().positive().optional(),
  cost: z.number().min(0).optional(),
  capacity: z.number().positive().optional(),
}).strict()

/** One pool: the load-balanced name it serves and the content servers behind it. */
const poolSchema = z.object({
  name: dnsName,
  servers: z.array(serverSchema).min(1, {error: 'at least one content server'}),
}).strict()

export const authorityStateSchema = z.object({
  listen: z.array(z.string()).optional(),
  zones: z.array(z.object({
    origin: dnsName,
    ttl: ttl.default(300),
    soa: soaSchema,
    records: z.array(recordSchema).default([]),
    /** DNSSEC: the zone is signed online with these key files (written by `glb key create`), paths relative to a.json. */
    dnssec: z.object({
      keyFiles: z.array(z.string({error: 'a key file path'})).min(1, {error: 'at least one key file'}),
    }).strict().optional(),
  }).strict()).min(1, {error: 'at least one zone'}),
  pools: z.record(z.string().regex(/^[a-z0-9_-]{1,63}$/i, {error: 'a pool name: one DNS label'}), poolSchema).default({}),
  keys: z.array(tsigKey).default([]),
  /** Keys allowed to update names in a zone (DNS-B announcing itself updates the delegation). */
  updatePolicy: z.array(z.object({key: dnsName, zone: dnsName, names: z.array(z.string()).default([])}).strict()).default([]),
}).strict().superRefine((s, ctx) => {
  const origins = new Set<string>()
  s.zones.forEach((zone, zi) => {
    if (origins.has(zone.origin)) ctx.addIssue({code: 'custom', message: `a zone not listed twice (${zone.origin} is)`, path: ['zones', zi, 'origin']})
    origins.add(zone.origin)
    // RFC 1034 §3.6.2 / RFC 2181 §10.1: a name with a CNAME has no other data, and only one CNAME.
    const cnames = new Set<string>()
    const others = new Set<string>()
    zone.records.forEach((r, ri) => {
      const problem = checkRecord(zone.origin, r)
      if (problem) {
        ctx.addIssue({code: 'custom', message: problem.expected, path: ['zones', zi, 'records', ri, problem.field]})
        return
      }
      const owner = ownerName(zone.origin, r.name)!
      const isCname = typeFromName(r.type) === RRType.CNAME
      if (isCname && (cnames.has(owner) || others.has(owner) || owner === zone.origin)) {
        ctx.addIssue({code: 'custom', message: `a CNAME only where ${owner} has no other record (RFC 1034 §3.6.2; the apex has SOA and NS)`, path: ['zones', zi, 'records', ri, 'type']})
      } else if (!isCname && cnames.has(owner)) {
        ctx.addIssue({code: 'custom', message: `no record beside the CNAME of ${owner} (RFC 1034 §3.6.2)`, path: ['zones', zi, 'records', ri, 'type']})
      }
      ;(isCname ? cnames : others).add(owner)
    })
  })
})

export type AuthorityState = z.output<typeof authorityStateSchema>
export type PoolSpec = z.output<typeof poolSchema>

/** Resolves a record's owner against the zone: "@" is the apex, names without a final dot are relative. */
export function ownerName(origin: string, name: string): string | null {
  if (name === '@') return origin
  const abs = name.endsWith('.') ? name : origin === '.' ? name + '.' : `${name}.${origin}`
  const n = normalizeDnsName(abs, {wildcard: true})
  return typeof n === 'string' ? n : null
}

function checkRecord(origin: string, r: z.output<typeof recordSchema>): {field: string; expected: string} | null {
  const owner = ownerName(origin, r.name)
  if (!owner) return {field: 'name', expected: 'a valid DNS name'}
  if (!isSubdomain(owner, origin)) return {field: 'name', expected: `a name inside the zone ${origin}`}
  const type = typeFromName(r.type)
  if (type === null || !SUPPORTED.has(type)) return {field: 'type', expected: 'one of A, AAAA, NS, CNAME, PTR, TXT, MX, DS'}
  const d = r.data
  switch (type) {
    case RRType.A: return typeof d === 'string' && isIPv4(d) ? null : {field: 'data', expected: 'an IPv4 address'}
    case RRType.AAAA: return typeof d === 'string' && isIPv6(d) ? null : {field: 'data', expected: 'an IPv6 address'}
    case RRType.NS: case RRType.CNAME: case RRType.PTR:
      return typeof d === 'string' && typeof normalizeDnsName(d) === 'string' ? null : {field: 'data', expected: 'a DNS name'}
    case RRType.TXT:
      // Octets are written as latin1, so a character above U+00FF would be changed on the wire: refuse it.
      return (typeof d === 'string' || (Array.isArray(d) && d.length > 0)) && [d].flat().every((s) => s.length <= 255 && /^[\x00-\xff]*$/.test(s))
        ? null : {field: 'data', expected: 'a string or a non-empty list of strings of at most 255 Latin-1 characters'}
    case RRType.MX:
      return typeof d === 'object' && !Array.isArray(d) && typeof normalizeDnsName(d.exchange) === 'string' ? null : {field: 'data', expected: '{preference, exchange}'}
    // A child zone's DS (RFC 4034 §5.3), published at its delegation point: never at the apex (that is the parent's).
    case RRType.DS:
      if (owner === origin) return {field: 'name', expected: 'a delegation point below the apex (a DS belongs to the parent side of a cut)'}
      return typeof d === 'string' && parseDsText(d) ? null : {field: 'data', expected: 'DS data "KEYTAG ALGORITHM DIGESTTYPE HEX" (e.g. "60485 13 2 D4B7...", as glb key create prints it)'}
  }
  return null
}

const SUPPORTED = new Set<number>([RRType.A, RRType.AAAA, RRType.NS, RRType.CNAME, RRType.PTR, RRType.TXT, RRType.MX, RRType.DS])

/**
 * Where DNS-A publishes pool P of zone Z: `P._pool.Z` holds an A/AAAA record per content server, and one TXT
 * string per server "ADDR weight=W cost=C capacity=N" plus "name=LB-NAME". Any DNS client can read it
 * (dig P._pool.Z TXT); DNS-LBs and DNS-Bs poll the zone's SOA serial and refetch when it changes.
 */
export function poolOwner(pool: string, origin: string): string {
  return `${pool.toLowerCase()}._pool.${origin === '.' ? '' : origin}`
}

/** Builds the zones to serve: the state's records plus the published pools (in the first zone). */
export function buildZones(state: AuthorityState): Zone[] {
  return state.zones.map((z, i) => {
    const records: ZoneRecord[] = z.records.map((r) => {
      const type = typeFromName(r.type)!
      const data = type === RRType.NS || type === RRType.CNAME || type === RRType.PTR
        ? normalizeDnsName(r.data as string) as string
        : type === RRType.MX ? {preference: (r.data as {preference: number}).preference, exchange: normalizeDnsName((r.data as {exchange: string}).exchange) as string}
        : type === RRType.DS ? dsRdataFromFields(parseDsText(r.data as string)!)
        : r.data as string | string[]
      return {name: ownerName(z.origin, r.name)!, type, ttl: r.ttl ?? z.ttl, data}
    })
    if (i === 0) records.push(...poolRecords(state.pools, z.origin, z.ttl))
    return new Zone(z.origin, z.soa, z.ttl, records)
  })
}

function poolRecords(pools: Record<string, PoolSpec>, origin: string, ttlSecs: number): ZoneRecord[] {
  const out: ZoneRecord[] = []
  for (const [pool, spec] of Object.entries(pools)) {
    const name = poolOwner(pool, origin)
    const txt = [`name=${spec.name}`]
    for (const s of spec.servers) {
      out.push({name, type: isIPv4(s.address) ? RRType.A : RRType.AAAA, ttl: ttlSecs, data: s.address})
      txt.push(`${s.address} weight=${s.weight ?? 1} cost=${s.cost ?? 0}${s.capacity ? ` capacity=${s.capacity}` : ''}`)
    }
    out.push({name, type: RRType.TXT, ttl: ttlSecs, data: txt})
  }
  return out
}

/** The signing keys each signed zone's key files held when the state was validated (by authorityStateSchemaFor). */
const loadedKeys = new WeakMap<AuthorityState, Map<string, SigningKey[]>>()

/**
 * The a.json schema for the file `stateFile`, which also reads every zone's key files (relative to a.json),
 * so that a missing, unreadable, expired or mismatched key is a state error at start and on every reload
 * (the last good state keeps serving), naming a.json's field and the key file's own field.
 */
export function authorityStateSchemaFor(stateFile: string) {
  const dir = dirname(stateFile)
  return authorityStateSchema.superRefine((s, ctx) => {
    const byZone = new Map<string, SigningKey[]>()
    s.zones.forEach((zone, zi) => {
      zone.dnssec?.keyFiles.forEach((file, ki) => {
        const path = ['zones', zi, 'dnssec', 'keyFiles', ki]
        let key: SigningKey
        try {
          key = loadKeyFile(resolve(dir, file))
        } catch (err) {
          ctx.addIssue({code: 'custom', message: `a usable key file (${(err as Error).message})`, path})
          return
        }
        if (key.zone !== zone.origin) {
          ctx.addIssue({code: 'custom', message: `a key of zone ${zone.origin} (${file} is a key of ${key.zone})`, path})
          return
        }
        byZone.set(zone.origin, [...(byZone.get(zone.origin) ?? []), key])
      })
    })
    loadedKeys.set(s, byZone)
  })
}

/** One ZoneSigner per signed zone of a state validated by authorityStateSchemaFor (empty for any other state). */
export function zoneSigners(state: AuthorityState): Map<string, ZoneSigner> {
  const out = new Map<string, ZoneSigner>()
  for (const [origin, keys] of loadedKeys.get(state) ?? []) out.set(origin, new ZoneSigner(keys))
  return out
}
