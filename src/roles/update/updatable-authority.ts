// DNS-A with RFC 2136 UPDATE: wraps the AuthorityHandler, applies signed updates to a.json's zones, persists them.
//
// Why: a DNS-B announces itself to DNS-A (its NS name and glue address under the delegation) instead of an
// operator editing a.json by hand. Queries go to the AuthorityHandler unchanged; an UPDATE is applied to the
// state's records, the SOA serial is bumped (so pollers notice), the zones are rebuilt, and a.json is written
// atomically before the NOERROR reply.
import type {Handler, Request, ResponseWriter} from '../../dns/handler.js'
import {createKeyring, createTsigKey, type Keyring} from '../../dns/tsig/tsig-keyring.js'
import {Opcode, Rcode, RRType, typeFromName, typeName} from '../../dns/wire/constants.js'
import {isSubdomain} from '../../dns/wire/name.js'
import type {RData} from '../../dns/wire/writer.js'
import {writeStateFile} from '../../state/write-state-file.js'
import type {AuthorityHandler} from '../authority/authority-handler.js'
import {buildZones, ownerName, type AuthorityState} from '../authority/authority-state.js'
import {canonicalRdata} from './canonical-rdata.js'
import {UpdateResponder, type UpdateOutcome} from './update-responder.js'
import type {StoredRR, UpdateContext, UpdateOp, UpdateRefusal, UpdateZone} from './update-processor.js'

export interface UpdatableAuthorityOptions {
  /** The a.json path: accepted updates are written here (atomically) before they are acknowledged. */
  stateFile: string
  state: AuthorityState
  authority: AuthorityHandler
  /** Unix seconds for TSIG time checks (tests). */
  now?(): number
  onUpdate?(outcome: UpdateOutcome): void
}

// Types a.json can hold (authority-state.ts SUPPORTED); anything else is refused rather than lost on save.
const STORABLE = new Set<number>([RRType.A, RRType.AAAA, RRType.NS, RRType.CNAME, RRType.PTR, RRType.TXT, RRType.MX])

type StateRecord = AuthorityState['zones'][number]['records'][number]

/**
 * DNS-A's handler when updates are on. Wire it in `glb serve a` as
 *   const h = new UpdatableAuthority({stateFile, state, authority: new AuthorityHandler(buildZones(state))})
 *   return {handler: h, opcodes: [Opcode.QUERY, Opcode.UPDATE], reload: (next) => h.reload(next)}
 * Who may change what comes from a.json: `keys` and `updatePolicy: [{key, zone, names}]`.
 */
export class UpdatableAuthority implements Handler {
  private state: AuthorityState
  private keyring: Keyring
  private readonly responder: UpdateResponder
  /** JSON of versions this process wrote: a reload that reads one back is our own write, not news. */
  private readonly written: string[] = []

  constructor(private readonly o: UpdatableAuthorityOptions) {
    this.state = o.state
    this.keyring = keyringOf(o.state)
    this.responder = new UpdateResponder({
      keyring: () => this.keyring,
      findZone: (name) => this.zoneStore(name),
      commit: () => this.persist(),
      now: o.now,
      onUpdate: o.onUpdate,
    })
  }

  serveDNS(req: Request, w: ResponseWriter): void | Promise<void> {
    if (req.query.header.opcode === Opcode.UPDATE) return this.responder.serve(req, w).then(() => undefined)
    return this.o.authority.serveDNS(req, w)
  }

  /** Takes a new state (SIGHUP or a change of a.json). A version this process wrote itself is ignored. */
  reload(next: AuthorityState): void {
    if (this.written.includes(JSON.stringify(next))) return
    this.state = next
    this.keyring = keyringOf(next)
    this.o.authority.setZones(buildZones(next))
  }

  /** The state as it is now (after accepted updates). */
  current(): AuthorityState {
    return this.state
  }

  private zoneStore(name: string): UpdateZone | undefined {
    const index = this.state.zones.findIndex((z) => z.origin === name)
    return index < 0 ? undefined : new StateZone(this, index)
  }

  /** @internal state access for StateZone. */
  stateRef(): AuthorityState {
    return this.state
  }

  /** @internal called by StateZone after a change: bump the serial, rebuild the served zones. */
  changed(zoneIndex: number): void {
    const soa = this.state.zones[zoneIndex]!.soa
    soa.serial = (soa.serial + 1) >>> 0 || 1 // RFC 1982 arithmetic; skip 0, which some tools treat as unset
    this.o.authority.setZones(buildZones(this.state))
  }

  private async persist(): Promise<void> {
    const text = JSON.stringify(this.state)
    this.written.push(text)
    if (this.written.length > 8) this.written.shift()
    await writeStateFile(this.o.stateFile, JSON.parse(text), {secret: this.state.keys.length > 0})
  }
}

function keyringOf(state: AuthorityState): Keyring {
  return createKeyring(state.keys.map((k) => createTsigKey(k.name, k.algorithm, Buffer.from(k.secret, 'base64'))))
}

/** One zone of a.json as an UpdateZone: reads and changes `state.zones[index].records`. */
class StateZone implements UpdateZone {
  readonly origin: string

  constructor(private readonly owner: UpdatableAuthority, private readonly index: number) {
    this.origin = owner.stateRef().zones[index]!.origin
  }

  private get zone() {
    return this.owner.stateRef().zones[this.index]!
  }

  private entries(): {r: StateRecord; name: string; type: number; rdata: Buffer; ttl: number}[] {
    const z = this.zone
    return z.records.map((r) => {
      const type = typeFromName(r.type)!
      return {r, name: ownerName(z.origin, r.name)!, type, rdata: canonicalRdata(type, r.data as RData), ttl: r.ttl ?? z.ttl}
    })
  }

  rrset(name: string, type: number): StoredRR[] {
    const out: StoredRR[] = []
    if (name === this.origin && (type === RRType.SOA || type === RRType.ANY)) {
      out.push({type: RRType.SOA, ttl: this.zone.ttl, rdata: canonicalRdata(RRType.SOA, this.zone.soa)})
    }
    for (const e of this.entries()) if (e.name === name && (type === RRType.ANY || e.type === type)) out.push({type: e.type, ttl: e.ttl, rdata: e.rdata})
    return out
  }

  nameInUse(name: string): boolean {
    return this.rrset(name, RRType.ANY).length > 0
  }

  check(ops: UpdateOp[], ctx: UpdateContext): UpdateRefusal | null {
    const state = this.owner.stateRef()
    const refuse = (reason: string): UpdateRefusal => ({rcode: Rcode.REFUSED, reason})
    const rules = state.updatePolicy.filter((p) => p.key === ctx.keyName && p.zone === this.origin)
    if (!ctx.keyName || rules.length === 0) return refuse(`key ${ctx.keyName ?? '(none)'} may not update zone ${this.origin}; add it to updatePolicy`)
    const pools = `_pool.${this.origin}`
    for (const op of ops) {
      if (!rules.some((p) => p.names.length === 0 || p.names.some((n) => nameMatches(this.origin, n, op.name)))) {
        return refuse(`key ${ctx.keyName} may not update ${op.name}`)
      }
      if (isSubdomain(op.name, pools)) return refuse(`${op.name} is a published pool; change "pools" in the state file`)
      if (op.op === 'add' || op.op === 'delete-rr' || op.op === 'delete-rrset') {
        if (op.type === RRType.SOA) return refuse('the SOA is managed by DNS-A')
        if (!STORABLE.has(op.type)) return refuse(`type ${typeName(op.type)} cannot be stored in the state file`)
      }
      if (op.op === 'add' && op.data === null) return refuse(`empty ${typeName(op.type)} RDATA for ${op.name}`)
    }
    return null
  }

  apply(ops: UpdateOp[]): boolean {
    const z = this.zone
    let changed = false
    for (const op of ops) {
      const all = this.entries()
      const at = all.filter((e) => e.name === op.name)
      const drop = (victims: typeof all) => {
        if (victims.length === 0) return
        const set = new Set(victims.map((v) => v.r))
        z.records = z.records.filter((r) => !set.has(r))
        changed = true
      }
      switch (op.op) {
        case 'add': {
          // RFC 2136 §3.4.2.2: CNAME and other data never share a name; a duplicate RR replaces (new TTL).
          if (op.type === RRType.CNAME ? at.some((e) => e.type !== RRType.CNAME) : at.some((e) => e.type === RRType.CNAME)) break
          const same = at.find((e) => e.type === op.type && e.rdata.equals(op.rdata))
          if (op.type === RRType.CNAME) drop(at.filter((e) => e.type === RRType.CNAME && e !== same))
          if (same) {
            if (same.ttl !== op.ttl) { same.r.ttl = op.ttl; changed = true }
            break
          }
          z.records.push({name: op.name, type: typeName(op.type), ttl: op.ttl, data: stateData(op.type, op.data as RData)})
          changed = true
          break
        }
        case 'delete-rrset':
          drop(at.filter((e) => e.type === op.type))
          break
        case 'delete-name':
          // §3.4.2.3: at the apex, SOA and NS stay.
          drop(at.filter((e) => !(op.name === this.origin && e.type === RRType.NS)))
          break
        case 'delete-rr': {
          const victims = at.filter((e) => e.type === op.type && e.rdata.equals(op.rdata))
          // §3.4.2.4: never remove the last NS of the apex.
          if (op.type === RRType.NS && op.name === this.origin && at.filter((e) => e.type === RRType.NS).length <= victims.length) break
          drop(victims)
          break
        }
      }
    }
    if (changed) this.owner.changed(this.index)
    return changed
  }
}

/** A policy name: "@" the apex, "*.x" anything strictly below x, else one owner (relative or absolute). */
function nameMatches(origin: string, pattern: string, name: string): boolean {
  if (pattern.startsWith('*.')) {
    const base = ownerName(origin, pattern.slice(2))
    return base !== null && name !== base && isSubdomain(name, base)
  }
  return ownerName(origin, pattern) === name
}

function stateData(type: number, data: RData): StateRecord['data'] {
  if (type === RRType.TXT) return typeof data === 'string' ? data : [...(data as string[])]
  if (type === RRType.MX) {
    const mx = data as {preference: number; exchange: string}
    return {preference: mx.preference, exchange: mx.exchange}
  }
  return data as string
}
