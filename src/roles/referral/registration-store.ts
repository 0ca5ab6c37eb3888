// DNS-B's registrations as an UPDATE-able zone: the mapping leases, the DNS-LBs' addresses and their measurements.
//
// The registration tree (ARCHITECTURE.md "Registrations") is not stored as records: `<key>.map` PTRs are
// leases in the MappingTable, `<label>.lbs` A/AAAA are LB identities with an address lease, `<label>.lbs` TXT
// the load-balanced names the LB serves (a lease too; none declared: every name), `<label>.m` TXT are
// measurement leases. An UPDATE batch is reduced to its net effect per key before it touches the table,
// so a renewal sent as "delete + add" keeps the lease's place among the prefix's LBs (the table orders ties
// by registration) instead of moving it to the back.
import {isIP} from 'node:net'
import {RRType, Rcode} from '../../dns/wire/constants.js'
import type {RR} from '../../dns/wire/writer.js'
import {formatPrefix, MappingTable, type MappingState, type Prefix} from '../../mapping/index.js'
import {
  lbLabelOf, lbOwner, mapOwner, measurementOwner, parseMeasurement, parseRegistrationName, type Measurement,
} from '../../registration/registration-records.js'
import {canonicalRdata} from '../update/canonical-rdata.js'
import type {StoredRR, UpdateContext, UpdateOp, UpdateRefusal, UpdateZone} from '../update/update-processor.js'

/** The persisted form (one JSON file beside b.json, written by group commit). */
export interface RegistrationData {
  format: typeof REGISTRATION_FORMAT
  serial: number
  lbs: {label: string; addrs: string[]; expiresAt: number}[]
  measurements: {label: string; servers: string[]; expiresAt: number}[]
  /** The names each DNS-LB declared it serves (absent in files written before names existed). */
  names?: {label: string; names: string[]; expiresAt: number}[]
  mapping: MappingState
}

export const REGISTRATION_FORMAT = 'glb-registrations/1'

export interface RegistrationStoreOptions {
  zone: string
  /** Longest lease accepted (seconds); longer TTLs are cut to it. */
  maxLeaseTtl: number
  /** Keys that may update; null: any verified key. */
  updateKeys: ReadonlySet<string> | null
  /** Keys limited to DNS-LB labels (b.json keyLabels); keys not in it are not limited by label. */
  keyLabels?: ReadonlyMap<string, ReadonlySet<string>> | null
  /** DNS-LBs from the state file: always alive. */
  staticLbs: readonly {label: string; addrs: readonly string[]}[]
  /** The zone's own records (SOA, NS, glue, pools), for prerequisites on them. */
  staticRrset(name: string, type: number): StoredRR[]
  /** Unix seconds (fractions allowed). */
  now(): number
}

/** An LB's registered addresses and until when they hold. */
export interface LbLease {
  addrs: string[]
  expiresAt: number
}

/** An LB's pushed measurements (direct mode). */
export interface MeasurementLease {
  strings: string[]
  servers: Measurement[]
  expiresAt: number
}

/** The registration tree of one DNS-B zone; implements UpdateZone for src/roles/update. */
export class RegistrationStore implements UpdateZone {
  readonly origin: string
  readonly table: MappingTable
  /** SOA serial: moves with every accepted change. */
  serial: number
  /** Moves when a DNS-LB's addresses change: prepared referrals (their glue) depend on them. */
  addressVersion = 0
  /** Moves when measurements change or lapse: prepared direct answers depend on them. */
  measurementVersion = 0
  readonly lbLeases = new Map<string, LbLease>()
  readonly measurements = new Map<string, MeasurementLease>()
  /** The load-balanced names each DNS-LB declared (`<label>.lbs` TXT), FQDNs; a label not here serves every name. */
  readonly lbNames = new Map<string, {names: string[]; expiresAt: number}>()
  /** Which names DNS-B serves (set by the handler): a declaration naming another is refused. */
  servesName: (name: string) => boolean = () => true
  /** Until when each LB id may be referred to (Infinity: from the state file; 0: withdrawn). */
  private lbExpiry = new Float64Array(16)
  private staticLabels: Set<string>

  /**
   * `table`: the mapping already loaded (registrations-file.ts reads the leases straight into one); without it,
   * the table is built from data.mapping.
   */
  constructor(private o: RegistrationStoreOptions, data?: RegistrationData, table?: MappingTable) {
    this.origin = o.zone
    const now = o.now()
    this.table = table ?? (data ? MappingTable.fromJSON(data.mapping, {now}) : new MappingTable())
    this.serial = Math.max(data?.serial ?? 0, Math.floor(now)) >>> 0
    this.staticLabels = new Set(o.staticLbs.map((l) => l.label))
    for (const lb of this.table.lbs()) this.setExpiry(lb.id, 0)
    for (const l of data?.lbs ?? []) {
      if (!(l.expiresAt > now) || l.addrs.length === 0) continue
      this.lbLeases.set(l.label, {addrs: [...l.addrs], expiresAt: l.expiresAt})
      this.setExpiry(this.ensureLb(l.label, l.addrs), l.expiresAt)
    }
    for (const m of data?.measurements ?? []) {
      if (!(m.expiresAt > now)) continue
      const servers = m.servers.map(parseMeasurement).filter((x): x is Measurement => x !== null)
      this.measurements.set(m.label, {strings: [...m.servers], servers, expiresAt: m.expiresAt})
    }
    for (const n of data?.names ?? []) if (n.expiresAt > now && n.names.length) this.lbNames.set(n.label, {names: [...n.names], expiresAt: n.expiresAt})
    for (const s of o.staticLbs) this.setExpiry(this.ensureLb(s.label, s.addrs), Infinity)
  }

  /** The names LB `label` declared it serves, or null: it declared none (it serves every name). */
  namesOf(label: string, now: number): readonly string[] | null {
    const n = this.lbNames.get(label)
    return n && n.expiresAt > now ? n.names : null
  }

  /** Takes new options on reload (the zone stays); DNS-LBs dropped from the state live on only by lease. */
  configure(next: Omit<RegistrationStoreOptions, 'zone' | 'staticRrset' | 'now'>): void {
    const now = this.o.now()
    for (const label of this.staticLabels) {
      if (next.staticLbs.some((l) => l.label === label)) continue
      const l = this.lbLeases.get(label)
      this.setExpiry(this.idOfLabel(label), l && l.expiresAt > now ? l.expiresAt : 0)
    }
    this.o = {...this.o, ...next}
    this.staticLabels = new Set(next.staticLbs.map((l) => l.label))
    for (const s of next.staticLbs) this.setExpiry(this.ensureLb(s.label, s.addrs), Infinity)
  }

  /** Reads and checks a persisted form; throws Error naming what is wrong. */
  static parseData(raw: unknown): RegistrationData {
    const d = raw as Partial<RegistrationData> | null
    if (typeof d !== 'object' || d === null || d.format !== REGISTRATION_FORMAT) throw new Error(`is not a "${REGISTRATION_FORMAT}" document`)
    if (typeof d.serial !== 'number' || !Array.isArray(d.lbs) || !Array.isArray(d.measurements) || typeof d.mapping !== 'object') {
      throw new Error('lacks "serial", "lbs", "measurements" or "mapping"')
    }
    for (const l of d.lbs) if (typeof l?.label !== 'string' || !Array.isArray(l.addrs) || typeof l.expiresAt !== 'number') throw new Error('has a malformed "lbs" entry')
    for (const m of d.measurements) if (typeof m?.label !== 'string' || !Array.isArray(m.servers) || typeof m.expiresAt !== 'number') throw new Error('has a malformed "measurements" entry')
    if (d.names !== undefined && (!Array.isArray(d.names) || d.names.some((n) => typeof n?.label !== 'string' || !Array.isArray(n.names) || typeof n.expiresAt !== 'number'))) throw new Error('has a malformed "names" entry')
    return d as RegistrationData
  }

  /** The persisted form of everything held now. */
  toData(): RegistrationData {
    return {
      format: REGISTRATION_FORMAT,
      serial: this.serial,
      lbs: [...this.lbLeases].map(([label, l]) => ({label, addrs: [...l.addrs], expiresAt: l.expiresAt})),
      measurements: [...this.measurements].map(([label, m]) => ({label, servers: [...m.strings], expiresAt: m.expiresAt})),
      names: [...this.lbNames].map(([label, n]) => ({label, names: [...n.names], expiresAt: n.expiresAt})),
      mapping: this.table.toJSON(),
    }
  }

  /** True when LB `id` may be referred to at `now` (hot path). */
  lbAlive(id: number, now: number): boolean {
    return id >= 0 && id < this.lbExpiry.length && this.lbExpiry[id]! > now
  }

  /** The label of LB `id` ("lb1" of lb1.lbs.ZONE). */
  labelOf(id: number): string {
    const name = this.table.lb(id)!.name
    return name.slice(0, name.indexOf('.'))
  }

  /** The table id of the LB with this label, or -1. */
  idOfLabel(label: string): number {
    return this.table.lbIdOf(lbOwner(label, this.origin))
  }

  /** Live measurements of LB `label`, or null. */
  measurementsOf(label: string, now: number): MeasurementLease | null {
    const m = this.measurements.get(label)
    return m && m.expiresAt > now ? m : null
  }

  /**
   * Drops lapsed leases from memory; lookups already ignore them. Returns how many went. With `maxSlots`, the
   * mapping table is swept a step at a time (MappingTable.sweep), resuming where the last step stopped.
   */
  sweep(now: number, maxSlots?: number): number {
    let n = this.table.sweep(now, maxSlots)
    for (const [label, l] of this.lbLeases) if (!(l.expiresAt > now)) { this.lbLeases.delete(label); n++ }
    let m = 0
    for (const [label, x] of this.measurements) if (!(x.expiresAt > now)) { this.measurements.delete(label); m++ }
    if (m) this.measurementVersion++
    // A lapsed declaration makes the LB serve every name again: prepared referrals depend on it.
    for (const [label, x] of this.lbNames) if (!(x.expiresAt > now)) { this.lbNames.delete(label); this.addressVersion++; n++ }
    return n + m
  }

  // ---- UpdateZone --------------------------------------------------------------------------------------

  rrset(name: string, type: number): StoredRR[] {
    const kind = parseRegistrationName(name, this.origin)
    if (!kind) return this.o.staticRrset(name, type)
    const now = this.o.now()
    const any = type === RRType.ANY
    const out: StoredRR[] = []
    if (kind.kind === 'map' && (any || type === RRType.PTR)) {
      const m = this.table.lookupSubnet(kind.prefix.addr, kind.prefix.len, now)
      if (m && m.prefixLen === kind.prefix.len) {
        const ttl = Math.max(0, Math.ceil(m.expiresAt - now))
        for (let i = 0; i < m.count; i++) out.push({type: RRType.PTR, ttl, rdata: canonicalRdata(RRType.PTR, this.table.lb(m.lbs[i]!)!.name)})
      }
    } else if (kind.kind === 'lb') {
      const l = this.lbLeases.get(kind.label)
      if (l && l.expiresAt > now) {
        for (const a of l.addrs) {
          const t = isIP(a) === 6 ? RRType.AAAA : RRType.A
          if (any || type === t) out.push({type: t, ttl: Math.ceil(l.expiresAt - now), rdata: canonicalRdata(t, a)})
        }
      }
      const n = this.lbNames.get(kind.label)
      if (n && n.expiresAt > now && (any || type === RRType.TXT)) out.push({type: RRType.TXT, ttl: Math.ceil(n.expiresAt - now), rdata: canonicalRdata(RRType.TXT, n.names)})
    } else if (kind.kind === 'measurements' && (any || type === RRType.TXT)) {
      const m = this.measurementsOf(kind.label, now)
      if (m) out.push({type: RRType.TXT, ttl: Math.ceil(m.expiresAt - now), rdata: canonicalRdata(RRType.TXT, m.strings)})
    }
    return out
  }

  nameInUse(name: string): boolean {
    return this.rrset(name, RRType.ANY).length > 0
  }

  check(ops: UpdateOp[], ctx: UpdateContext): UpdateRefusal | null {
    const refuse = (reason: string): UpdateRefusal => ({rcode: Rcode.REFUSED, reason})
    if (this.o.updateKeys && !(ctx.keyName && this.o.updateKeys.has(ctx.keyName))) {
      return refuse(`key ${ctx.keyName ?? '(none)'} may not register at ${this.origin}`)
    }
    const limited = ctx.keyName ? this.o.keyLabels?.get(ctx.keyName) : undefined
    if (limited) {
      const mine = (label: string | null) => label !== null && limited.has(label)
      const may = `key ${ctx.keyName} may register only as ${[...limited].join(', ')}`
      for (const op of ops) {
        const kind = parseRegistrationName(op.name, this.origin)
        if (!kind) continue // refused below as not a registration name
        if (kind.kind !== 'map') {
          if (!mine(kind.label)) return refuse(`${may}, not change ${op.name}`)
        } else if (op.op === 'add' || op.op === 'delete-rr') {
          const target = typeof op.data === 'string' ? lbLabelOf(op.data, this.origin) : null
          if (!mine(target)) return refuse(`${may}: ${op.name} PTR ${String(op.data)} names another DNS-LB`)
        } else {
          return refuse(`${may}, so it may not delete every mapping of ${op.name}`)
        }
      }
    }
    const now = this.o.now()
    const gettingAddrs = new Set<string>()
    const targets: string[] = []
    for (const op of ops) {
      const kind = parseRegistrationName(op.name, this.origin)
      if (!kind) return refuse(`${op.name} is not a registration name (<key>.map, <label>.lbs or <label>.m under ${this.origin})`)
      const type = op.op === 'delete-name' ? RRType.ANY : op.type
      const allowed: number[] = kind.kind === 'map' ? [RRType.PTR] : kind.kind === 'lb' ? [RRType.A, RRType.AAAA, RRType.TXT] : [RRType.TXT]
      if (type !== RRType.ANY && !allowed.includes(type)) return refuse(`${op.name} takes only ${allowed.map(typeText).join('/')} records`)
      if (op.op !== 'add') continue
      if (kind.kind === 'map') {
        const label = typeof op.data === 'string' ? lbLabelOf(op.data, this.origin) : null
        if (!label) return refuse(`the PTR of ${op.name} must name a DNS-LB as <label>.lbs.${this.origin}`)
        targets.push(label)
      } else if (kind.kind === 'lb' && op.type === RRType.TXT) {
        // The names this DNS-LB serves (ARCHITECTURE.md "Registrations"): each one DNS-B refers resolvers for.
        const names = (op.data as string[]).map((x) => x.trim().toLowerCase())
        if (names.length === 0 || names.some((x) => x === '' || x === '.')) return refuse(`${op.name} TXT declares no load-balanced name; give one string per name the DNS-LB serves`)
        const fqdn = names.map((x) => (x.endsWith('.') ? x : `${x}.`))
        const unknown = fqdn.find((x) => !this.servesName(x))
        if (unknown !== undefined) return refuse(`${op.name} TXT names ${unknown.slice(0, 255)}, which is not a load-balanced name of ${this.origin}`)
      } else if (kind.kind === 'lb') {
        gettingAddrs.add(kind.label)
      } else {
        const strings = op.data as string[]
        const bad = strings.find((s) => parseMeasurement(s) === null)
        if (bad !== undefined) return refuse(`measurement "${bad.slice(0, 60)}" is not "<addr> srtt=MS loss=PCT up=0|1"`)
      }
    }
    for (const label of targets) {
      const l = this.lbLeases.get(label)
      if (gettingAddrs.has(label) || this.staticLabels.has(label) || (l && l.expiresAt > now && l.addrs.length)) continue
      return refuse(`DNS-LB ${label} has no address; add ${lbOwner(label, this.origin)} A/AAAA in the same UPDATE`)
    }
    return null
  }

  apply(ops: UpdateOp[]): boolean {
    const now = this.o.now()
    const lease = (ttl: number) => now + Math.min(ttl, this.o.maxLeaseTtl)
    const maps = new Map<string, {prefix: Prefix; clear: boolean; lbs: Map<string, number | null>}>()
    const lbs = new Map<string, {addrs: Map<string, number>; expiresAt: number}>()
    const ms = new Map<string, {strings: string[]; expiresAt: number} | null>()
    const names = new Map<string, {names: string[]; expiresAt: number} | null>()
    for (const op of ops) {
      const kind = parseRegistrationName(op.name, this.origin)!
      if (kind.kind === 'lb' && (op.op === 'delete-name' || op.type === RRType.TXT)) {
        names.set(kind.label, op.op === 'add' ? {names: (op.data as string[]).map((x) => x.trim().toLowerCase()).map((x) => (x.endsWith('.') ? x : `${x}.`)), expiresAt: lease(op.ttl)} : null)
        if (op.op !== 'delete-name') continue
      }
      if (kind.kind === 'map') {
        const key = formatPrefix(kind.prefix)
        let e = maps.get(key)
        if (!e) { e = {prefix: kind.prefix, clear: false, lbs: new Map()}; maps.set(key, e) }
        if (op.op === 'add') e.lbs.set(lbLabelOf(op.data as string, this.origin)!, lease(op.ttl))
        else if (op.op === 'delete-rr') e.lbs.set(lbLabelOf(op.data as string, this.origin) ?? '', null)
        else { e.clear = true; e.lbs.clear() }
      } else if (kind.kind === 'lb') {
        let e = lbs.get(kind.label)
        if (!e) {
          const cur = this.lbLeases.get(kind.label)
          const live = cur && cur.expiresAt > now
          e = {addrs: new Map(live ? cur.addrs.map((a) => [a, cur.expiresAt]) : []), expiresAt: live ? cur.expiresAt : 0}
          lbs.set(kind.label, e)
        }
        if (op.op === 'add') {
          const until = lease(op.ttl)
          e.addrs.delete(op.data as string)
          e.addrs.set(op.data as string, until)
          e.expiresAt = Math.max(...e.addrs.values())
        } else if (op.op === 'delete-rr') {
          e.addrs.delete(op.data as string)
        } else {
          const family = op.op === 'delete-rrset' ? (op.type === RRType.AAAA ? 6 : 4) : 0
          for (const a of [...e.addrs.keys()]) if (family === 0 || isIP(a) === family) e.addrs.delete(a)
        }
      } else {
        ms.set(kind.label, op.op === 'add' ? {strings: [...(op.data as string[])], expiresAt: lease(op.ttl)} : null)
      }
    }
    for (const [label, e] of lbs) {
      const addrs = [...e.addrs.keys()]
      if (addrs.length === 0) {
        this.lbLeases.delete(label)
        const id = this.idOfLabel(label)
        if (id >= 0 && !this.staticLabels.has(label)) this.setExpiry(id, 0)
      } else {
        this.lbLeases.set(label, {addrs, expiresAt: e.expiresAt})
        const id = this.ensureLb(label, addrs)
        this.setExpiry(id, this.staticLabels.has(label) ? Infinity : e.expiresAt)
      }
    }
    for (const e of maps.values()) {
      if (e.clear) this.table.remove(e.prefix)
      for (const [label, until] of e.lbs) {
        const id = this.idOfLabel(label)
        if (until === null) { if (id >= 0) this.table.remove(e.prefix, id) } else this.table.upsert(e.prefix, id, until)
      }
    }
    for (const [label, n] of names) {
      const old = this.lbNames.get(label)
      if (n === null) {
        if (old) { this.lbNames.delete(label); this.addressVersion++ }
        continue
      }
      if (!old || old.names.join() !== n.names.join()) this.addressVersion++
      this.lbNames.set(label, n)
    }
    for (const [label, m] of ms) {
      const old = this.measurements.get(label)
      if (m === null) {
        if (old) this.measurementVersion++
        this.measurements.delete(label)
        continue
      }
      // A push that repeats the same figures only renews the lease: cached direct answers stay.
      if (!old || old.strings.join('\n') !== m.strings.join('\n')) this.measurementVersion++
      this.measurements.set(label, {...m, servers: m.strings.map((s) => parseMeasurement(s)!)})
    }
    this.serial = (this.serial + 1) >>> 0 || 1
    return ops.length > 0
  }

  /** Every registration as records for a zone transfer (TTL = seconds left of the lease). */
  *transferRecords(now: number, staticTtl: number): Generator<RR> {
    for (const e of this.table.entries(now)) {
      const ttl = Math.max(1, Math.ceil(e.expiresAt - now))
      yield {name: mapOwner(e.prefix, this.origin), type: RRType.PTR, ttl, data: this.table.lb(e.lbId)!.name}
    }
    const listed = new Set<string>()
    for (const [label, l] of this.lbLeases) {
      if (!(l.expiresAt > now)) continue
      listed.add(label)
      const ttl = Math.max(1, Math.ceil(l.expiresAt - now))
      for (const a of l.addrs) yield {name: lbOwner(label, this.origin), type: isIP(a) === 6 ? RRType.AAAA : RRType.A, ttl, data: a}
    }
    for (const [label, n] of this.lbNames) {
      if (n.expiresAt > now) yield {name: lbOwner(label, this.origin), type: RRType.TXT, ttl: Math.max(1, Math.ceil(n.expiresAt - now)), data: n.names}
    }
    for (const s of this.o.staticLbs) {
      if (listed.has(s.label)) continue
      for (const a of s.addrs) yield {name: lbOwner(s.label, this.origin), type: isIP(a) === 6 ? RRType.AAAA : RRType.A, ttl: staticTtl, data: a}
    }
    for (const [label, m] of this.measurements) {
      if (!(m.expiresAt > now) || m.strings.length === 0) continue
      yield {name: measurementOwner(label, this.origin), type: RRType.TXT, ttl: Math.max(1, Math.ceil(m.expiresAt - now)), data: m.strings}
    }
  }

  private ensureLb(label: string, addrs: readonly string[]): number {
    const before = this.table.lbVersion
    const id = this.table.registerLb({name: lbOwner(label, this.origin), addrs})
    if (this.table.lbVersion !== before) this.addressVersion++
    return id
  }

  private setExpiry(id: number, until: number): void {
    if (id < 0) return
    if (id >= this.lbExpiry.length) {
      const next = new Float64Array(Math.max(id + 1, this.lbExpiry.length * 2))
      next.set(this.lbExpiry)
      this.lbExpiry = next
    }
    this.lbExpiry[id] = until
  }
}

function typeText(t: number): string {
  return t === RRType.PTR ? 'PTR' : t === RRType.A ? 'A' : t === RRType.AAAA ? 'AAAA' : 'TXT'
}
