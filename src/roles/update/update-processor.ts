// RFC 2136 §3 over any record store: zone section, prerequisites, prescan, then the updates, all or nothing.
import type {Client} from '../../dns/handler.js'
import {RRClass, RRType, Rcode} from '../../dns/wire/constants.js'
import {isSubdomain} from '../../dns/wire/name.js'
import type {RecordData} from '../../dns/wire/reader.js'
import type {UpdateMessage, UpdateRR} from './update-message.js'

/** One change the update section asks for, after the §3.4.1 prescan (RFC 2136 §2.5.1-2.5.4). */
export type UpdateOp =
  | {op: 'add'; name: string; type: number; ttl: number; rdata: Buffer; data: RecordData}
  | {op: 'delete-rrset'; name: string; type: number}
  | {op: 'delete-name'; name: string}
  | {op: 'delete-rr'; name: string; type: number; rdata: Buffer; data: RecordData}

/** A record as a store reports it for prerequisite checks. */
export interface StoredRR {
  type: number
  ttl: number
  rdata: Buffer // canonical (canonical-rdata.ts)
}

/** Who sent the UPDATE: the verified TSIG key name (null when unsigned) and the client address. */
export interface UpdateContext {
  keyName: string | null
  client: Client
}

/** Why a store refuses a change (policy or format): an RCODE (usually REFUSED) and one line for logs. */
export interface UpdateRefusal {
  rcode: number
  reason: string
}

/**
 * A zone that accepts RFC 2136 UPDATEs. The processor does the RFC's generic work; the store answers what it
 * holds, judges the ops (permission, what it can represent) and applies them atomically.
 */
export interface UpdateZone {
  /** Zone apex, lowercase FQDN. */
  readonly origin: string
  /** The RRset at (name, type); type ANY (255) returns every record at the name. */
  rrset(name: string, type: number): StoredRR[]
  /** True when the name owns at least one RR (RFC 2136 §2.4.4 "name is in use"). */
  nameInUse(name: string): boolean
  /** RFC 2136 §3.3 permission and store limits, for the whole batch; null when acceptable. */
  check(ops: UpdateOp[], ctx: UpdateContext): UpdateRefusal | null
  /** Applies the ops in order as one change; returns true when the zone's data changed. */
  apply(ops: UpdateOp[], ctx: UpdateContext): boolean
}

/** What processUpdate decided. */
export interface UpdateResult {
  rcode: number
  /** One line for logs ("" on success). */
  reason: string
  /** The zone changed and must be made durable before the reply. */
  changed: boolean
  zone: UpdateZone | null
  ops: UpdateOp[]
}

// RFC 2136 §3.4.1.2 and §1.1: meta types that never appear as data.
const META = new Set<number>([RRType.ANY, RRType.AXFR, RRType.IXFR, 253 /* MAILB */, 254 /* MAILA */, RRType.OPT, RRType.TSIG])

/**
 * Runs an UPDATE against the zone `findZone` returns for its zone name: §3.1 zone section, §3.2
 * prerequisites, §3.3 permission (store.check), §3.4 prescan and update. Synchronous, so two UPDATEs never
 * interleave between their prerequisite check and their change.
 */
export function processUpdate(msg: UpdateMessage, findZone: (zone: string) => UpdateZone | undefined, ctx: UpdateContext): UpdateResult {
  const fail = (rcode: number, reason: string, zone: UpdateZone | null = null): UpdateResult => ({rcode, reason, changed: false, zone, ops: []})
  // §3.1.1: exactly one zone RR of type SOA.
  if (msg.zoneCount !== 1) return fail(Rcode.FORMERR, `zone section has ${msg.zoneCount} records, not 1`)
  if (msg.zone.type !== RRType.SOA) return fail(Rcode.FORMERR, 'zone section type is not SOA')
  // §3.1.2: a zone we are not authoritative for (or another class) is NOTAUTH.
  const zone = msg.zone.class === RRClass.IN ? findZone(msg.zone.name) : undefined
  if (!zone || zone.origin !== msg.zone.name) return fail(Rcode.NOTAUTH, `not authoritative for zone ${msg.zone.name}`)

  const pre = checkPrerequisites(msg.prerequisites, zone)
  if (pre) return fail(pre.rcode, pre.reason, zone)

  const ops: UpdateOp[] = []
  for (const rr of msg.updates) {
    const r = prescan(rr, zone.origin)
    if ('rcode' in r) return fail(r.rcode, r.reason, zone)
    // §3.4.2.3/§3.4.2.4: the apex SOA is never deleted, nor the apex NS RRset as a whole.
    if (r.op !== 'add' && r.name === zone.origin) {
      if (r.op === 'delete-rrset' && (r.type === RRType.SOA || r.type === RRType.NS)) continue
      if (r.op === 'delete-rr' && r.type === RRType.SOA) continue
    }
    ops.push(r)
  }
  const refused = zone.check(ops, ctx)
  if (refused) return fail(refused.rcode, refused.reason, zone)
  const changed = ops.length > 0 && zone.apply(ops, ctx)
  return {rcode: Rcode.NOERROR, reason: '', changed, zone, ops}
}

function checkPrerequisites(prereqs: UpdateRR[], zone: UpdateZone): UpdateRefusal | null {
  // Value-dependent prerequisites are gathered per (name, type) and compared as whole RRsets (§3.2.3).
  const wanted = new Map<string, {name: string; type: number; rdatas: Buffer[]}>()
  for (const rr of prereqs) {
    if (rr.ttl !== 0) return {rcode: Rcode.FORMERR, reason: `prerequisite ${rr.name} has TTL ${rr.ttl}, not 0`}
    if (!isSubdomain(rr.name, zone.origin)) return {rcode: Rcode.NOTZONE, reason: `prerequisite ${rr.name} is outside zone ${zone.origin}`}
    if (rr.class === RRClass.ANY) {
      if (rr.rdata.length !== 0) return {rcode: Rcode.FORMERR, reason: 'class ANY prerequisite with RDATA'}
      if (rr.type === RRType.ANY) {
        if (!zone.nameInUse(rr.name)) return {rcode: Rcode.NXDOMAIN, reason: `prerequisite: ${rr.name} is not in use`}
      } else if (zone.rrset(rr.name, rr.type).length === 0) {
        return {rcode: Rcode.NXRRSET, reason: `prerequisite: no ${rr.type} RRset at ${rr.name}`}
      }
    } else if (rr.class === RRClass.NONE) {
      if (rr.rdata.length !== 0) return {rcode: Rcode.FORMERR, reason: 'class NONE prerequisite with RDATA'}
      if (rr.type === RRType.ANY) {
        if (zone.nameInUse(rr.name)) return {rcode: Rcode.YXDOMAIN, reason: `prerequisite: ${rr.name} is in use`}
      } else if (zone.rrset(rr.name, rr.type).length > 0) {
        return {rcode: Rcode.YXRRSET, reason: `prerequisite: a ${rr.type} RRset exists at ${rr.name}`}
      }
    } else if (rr.class === RRClass.IN) {
      if (META.has(rr.type)) return {rcode: Rcode.FORMERR, reason: `prerequisite of meta type ${rr.type}`}
      const key = `${rr.type}|${rr.name}`
      let w = wanted.get(key)
      if (!w) { w = {name: rr.name, type: rr.type, rdatas: []}; wanted.set(key, w) }
      if (!w.rdatas.some((b) => b.equals(rr.rdata))) w.rdatas.push(rr.rdata)
    } else {
      return {rcode: Rcode.FORMERR, reason: `prerequisite of class ${rr.class}`}
    }
  }
  for (const w of wanted.values()) {
    const have = zone.rrset(w.name, w.type)
    const same = have.length === w.rdatas.length && have.every((h) => w.rdatas.some((b) => b.equals(h.rdata)))
    if (!same) return {rcode: Rcode.NXRRSET, reason: `prerequisite: the ${w.type} RRset at ${w.name} differs`}
  }
  return null
}

// §3.4.1: what each update RR may look like, turned into an op.
function prescan(rr: UpdateRR, origin: string): UpdateOp | UpdateRefusal {
  if (!isSubdomain(rr.name, origin)) return {rcode: Rcode.NOTZONE, reason: `update ${rr.name} is outside zone ${origin}`}
  if (rr.class === RRClass.IN) {
    if (META.has(rr.type)) return {rcode: Rcode.FORMERR, reason: `cannot add a record of meta type ${rr.type}`}
    return {op: 'add', name: rr.name, type: rr.type, ttl: rr.ttl, rdata: rr.rdata, data: rr.data}
  }
  if (rr.class === RRClass.ANY) {
    if (rr.ttl !== 0 || rr.rdata.length !== 0 || (META.has(rr.type) && rr.type !== RRType.ANY)) {
      return {rcode: Rcode.FORMERR, reason: 'a class ANY delete needs TTL 0, no RDATA and a data type or ANY'}
    }
    return rr.type === RRType.ANY ? {op: 'delete-name', name: rr.name} : {op: 'delete-rrset', name: rr.name, type: rr.type}
  }
  if (rr.class === RRClass.NONE) {
    if (rr.ttl !== 0 || META.has(rr.type)) return {rcode: Rcode.FORMERR, reason: 'a class NONE delete needs TTL 0 and a data type'}
    return {op: 'delete-rr', name: rr.name, type: rr.type, rdata: rr.rdata, data: rr.data}
  }
  return {rcode: Rcode.FORMERR, reason: `update record of class ${rr.class}`}
}
