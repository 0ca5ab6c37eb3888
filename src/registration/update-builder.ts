// Builds RFC 2136 UPDATE messages: zone section, optional prerequisites, and adds/deletes in the update section.
import {randomInt} from 'node:crypto'
import {Opcode, RRClass, RRType} from '../dns/wire/constants.js'
import {MessageWriter, type RData, type RR} from '../dns/wire/writer.js'

/** A record of the prerequisite or update section; deletes carry class ANY/NONE and TTL 0 (RFC 2136 §2.5). */
export type UpdateRecord = RR & {class: number}

const EMPTY = Buffer.alloc(0)

/** §2.5.1: add `data` to the RRset (a duplicate replaces, so this also renews a lease's TTL). */
export function addRecord(name: string, ttl: number, type: number, data: RData): UpdateRecord {
  return {name, type, class: RRClass.IN, ttl, data}
}

/** §2.5.2: delete the whole RRset (name, type). */
export function deleteRRset(name: string, type: number): UpdateRecord {
  return {name, type, class: RRClass.ANY, ttl: 0, data: EMPTY}
}

/** §2.5.3: delete every RRset at the name. */
export function deleteName(name: string): UpdateRecord {
  return {name, type: RRType.ANY, class: RRClass.ANY, ttl: 0, data: EMPTY}
}

/** §2.5.4: delete one RR (name, type, data). */
export function deleteRecord(name: string, type: number, data: RData): UpdateRecord {
  return {name, type, class: RRClass.NONE, ttl: 0, data}
}

/** §2.4.1: the RRset (name, type) exists, whatever its value. */
export function rrsetExists(name: string, type: number): UpdateRecord {
  return {name, type, class: RRClass.ANY, ttl: 0, data: EMPTY}
}

/** §2.4.3: the RRset (name, type) does not exist. */
export function rrsetAbsent(name: string, type: number): UpdateRecord {
  return {name, type, class: RRClass.NONE, ttl: 0, data: EMPTY}
}

/** An UPDATE for `zone` (unsigned; sign it with src/dns/tsig/tsig.ts before sending). */
export function buildUpdate(zone: string, updates: UpdateRecord[], opts: {prerequisites?: UpdateRecord[]; id?: number} = {}): Buffer {
  const pre = opts.prerequisites ?? []
  const w = new MessageWriter(512)
  w.header(opts.id ?? randomInt(0, 0x10000), Opcode.UPDATE << 11, 1, pre.length, updates.length, 0)
  w.name(zone)
  w.u16(RRType.SOA)
  w.u16(RRClass.IN)
  for (const r of pre) w.rr(r)
  for (const r of updates) w.rr(r)
  return w.finish()
}
