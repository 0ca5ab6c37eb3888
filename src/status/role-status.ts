// What a role's state file and the data files beside it say now, for `glb status`: a DNS-LB's measurements and
// answer, a DNS-B's mapping table with lease expiry; for DNS-A and DNS-ISP a short summary of the state.
//
// Read-only: nothing here contacts a server or writes a file, so it works with the role stopped (after a crash,
// to see what a restart will start from) as well as running (the files are written atomically, never torn).
import {readFile} from 'node:fs/promises'
import {formatPrefix, MappingTable} from '../mapping/index.js'
import {authorityStateSchema} from '../roles/authority/authority-state.js'
import {balancerStateSchema, measurementsPath} from '../roles/balancer/balancer-state.js'
import {MEASUREMENTS_FORMAT, type MeasurementsJSON} from '../roles/balancer/measurement-file.js'
import {ispStateSchema} from '../roles/recursive/isp-state.js'
import {mappingsPath, referralStateSchema} from '../roles/referral/referral-state.js'
import {RegistrationStore} from '../roles/referral/registration-store.js'
import {loadStateFile} from '../state/load-state-file.js'
import {StateError} from '../state/state-error.js'

/** One content server as the DNS-LB measures it. */
export interface ServerStatus {
  address: string
  srttMs: number | null
  spreadMs: number | null
  lossPct: number | null
  up: boolean | null
  score: number | null
  chosen: boolean
}

export interface BalancerStatus {
  role: 'dns-lb'
  stateFile: string
  label: string
  zone: string
  measurementsFile: string
  /** When the measurements were written, and how long ago (null: no file yet). */
  savedAt: string | null
  ageSeconds: number | null
  answer: {A: string[]; AAAA: string[]}
  servers: ServerStatus[]
  /** Why there is nothing to show, when there is not. */
  note?: string
}

export interface MappingStatus {
  prefix: string
  lb: string
  addrs: string[]
  expiresAt: string
  expiresInSeconds: number
}

export interface ReferralStatus {
  role: 'dns-b'
  stateFile: string
  zone: string
  mappingsFile: string
  serial: number | null
  mappings: MappingStatus[]
  /** Leases that lapsed but are still in the file (dropped at the next sweep). */
  lapsed: number
  lbs: {label: string; addrs: string[]; expiresAt: string | null; expiresInSeconds: number | null}[]
  measurements: {label: string; servers: string[]; expiresInSeconds: number}[]
  note?: string
}

export interface AuthorityStatus {
  role: 'dns-a'
  stateFile: string
  zones: {origin: string; records: number}[]
  pools: {name: string; servers: number}[]
}

export interface RecursiveStatus {
  role: 'dns-isp'
  stateFile: string
  egress: string | string[]
  root: string[]
  upstreamPort: number
  allow: string[]
}

export type RoleStatus = BalancerStatus | ReferralStatus | AuthorityStatus | RecursiveStatus

/** Which role a state file belongs to, by the fields only that role's schema has. */
function roleOf(raw: unknown): RoleStatus['role'] | null {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return null
  const o = raw as Record<string, unknown>
  if ('label' in o && ('pool' in o || 'probe' in o)) return 'dns-lb'
  if ('ns' in o && 'zone' in o) return 'dns-b'
  if ('zones' in o) return 'dns-a'
  if ('egress' in o) return 'dns-isp'
  return null
}

/** Reads `stateFile` and the data beside it. Throws a one-line Error naming the file for unreadable input. */
export async function readRoleStatus(stateFile: string, now = Date.now()): Promise<RoleStatus> {
  let raw: unknown
  try {
    raw = JSON.parse(await readFile(stateFile, 'utf8'))
  } catch {
    // loadStateFile below gives the precise message (missing file, line and column of a syntax error).
    raw = undefined
  }
  const role = roleOf(raw)
  if (raw !== undefined && role === null) {
    throw new StateError(`${stateFile}: not a glb role state file (expected the fields of a DNS-A, DNS-B, DNS-LB or DNS-ISP state)`, 'invalid', stateFile)
  }
  switch (role) {
    case 'dns-lb': return balancerStatus(stateFile, now)
    case 'dns-b': return referralStatus(stateFile, now)
    case 'dns-a': {
      const s = await loadStateFile(stateFile, authorityStateSchema)
      return {
        role, stateFile,
        zones: s.zones.map((z) => ({origin: z.origin, records: z.records.length})),
        pools: Object.entries(s.pools).map(([, p]) => ({name: p.name, servers: p.servers.length})),
      }
    }
    case 'dns-isp': {
      const s = await loadStateFile(stateFile, ispStateSchema)
      return {role, stateFile, egress: s.egress, root: s.root, upstreamPort: s.upstreamPort, allow: s.allow}
    }
    default:
      // Unreadable or not JSON: let the loader say exactly why (any schema; it fails before validating).
      await loadStateFile(stateFile, ispStateSchema)
      throw new Error(`${stateFile}: not a glb role state file`)
  }
}

async function balancerStatus(stateFile: string, now: number): Promise<BalancerStatus> {
  const s = await loadStateFile(stateFile, balancerStateSchema)
  const file = measurementsPath(stateFile, s)
  const base: BalancerStatus = {role: 'dns-lb', stateFile, label: s.label, zone: s.zone, measurementsFile: file, savedAt: null, ageSeconds: null, answer: {A: [], AAAA: []}, servers: []}
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {...base, note: `no measurements yet: ${file} does not exist (the DNS-LB writes it once it has probed)`}
    throw new Error(`${file}: cannot read the measurements: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
  let m: MeasurementsJSON
  try {
    m = JSON.parse(text) as MeasurementsJSON
  } catch (err) {
    throw new Error(`${file}: the measurements file is not valid JSON (${(err as Error).message})`)
  }
  if (m?.format !== MEASUREMENTS_FORMAT) throw new Error(`${file}: not a ${MEASUREMENTS_FORMAT} file`)
  const saved = Date.parse(m.savedAt)
  return {
    ...base,
    savedAt: m.savedAt,
    ageSeconds: Number.isFinite(saved) ? Math.max(0, Math.round((now - saved) / 1000)) : null,
    answer: {A: [...(m.answer?.A ?? [])], AAAA: [...(m.answer?.AAAA ?? [])]},
    servers: Object.entries(m.servers ?? {}).map(([address, v]) => ({address, ...v})),
  }
}

async function referralStatus(stateFile: string, nowMs: number): Promise<ReferralStatus> {
  const s = await loadStateFile(stateFile, referralStateSchema)
  const file = mappingsPath(stateFile, s)
  const now = nowMs / 1000
  const base: ReferralStatus = {role: 'dns-b', stateFile, zone: s.zone, mappingsFile: file, serial: null, mappings: [], lapsed: 0, lbs: [], measurements: []}
  const staticLbs = s.lbs.map((l) => ({label: l.label, addrs: [...l.addrs], expiresAt: null, expiresInSeconds: null}))
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {...base, lbs: staticLbs, note: `no registrations yet: ${file} does not exist`}
    throw new Error(`${file}: cannot read the registrations: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
  let data
  try {
    data = RegistrationStore.parseData(JSON.parse(text))
  } catch (err) {
    throw new Error(`${file}: the registrations file ${err instanceof SyntaxError ? 'is not valid JSON' : (err as Error).message}`)
  }
  const table = MappingTable.fromJSON(data.mapping)
  const iso = (t: number) => new Date(t * 1000).toISOString()
  const left = (t: number) => Math.max(0, Math.round(t - now))
  const lbAddrs = new Map<string, string[]>()
  for (const l of s.lbs) lbAddrs.set(l.label, [...l.addrs])
  for (const l of data.lbs) if (l.expiresAt > now) lbAddrs.set(l.label, [...l.addrs])
  const mappings: MappingStatus[] = []
  let lapsed = 0
  for (const e of table.entries()) {
    if (!(e.expiresAt > now)) { lapsed++; continue }
    const name = table.lb(e.lbId)?.name ?? '?'
    const label = name.slice(0, name.indexOf('.'))
    mappings.push({prefix: formatPrefix(e.prefix), lb: label, addrs: lbAddrs.get(label) ?? [], expiresAt: iso(e.expiresAt), expiresInSeconds: left(e.expiresAt)})
  }
  mappings.sort((a, b) => a.prefix.localeCompare(b.prefix, 'en', {numeric: true}) || a.lb.localeCompare(b.lb))
  const leased = data.lbs.filter((l) => l.expiresAt > now).map((l) => ({label: l.label, addrs: [...l.addrs], expiresAt: iso(l.expiresAt), expiresInSeconds: left(l.expiresAt)}))
  return {
    ...base,
    serial: data.serial,
    mappings,
    lapsed,
    lbs: [...staticLbs.filter((x) => !leased.some((l) => l.label === x.label)), ...leased],
    measurements: data.measurements.filter((m) => m.expiresAt > now).map((m) => ({label: m.label, servers: [...m.servers], expiresInSeconds: left(m.expiresAt)})),
  }
}
