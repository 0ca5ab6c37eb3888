// RFC 2136 §3 processing over an in-memory zone: zone section, prerequisites, prescan, apex rules, policy.
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {RRClass, Rcode, RRType} from '../../../src/dns/wire/constants.js'
import type {RData} from '../../../src/dns/wire/writer.js'
import {addRecord, buildUpdate, deleteName, deleteRecord, deleteRRset, rrsetAbsent, rrsetExists, type UpdateRecord} from '../../../src/registration/update-builder.js'
import {canonicalRdata} from '../../../src/roles/update/canonical-rdata.js'
import {readUpdate, type UpdateMessage} from '../../../src/roles/update/update-message.js'
import {processUpdate, type StoredRR, type UpdateOp, type UpdateZone} from '../../../src/roles/update/update-processor.js'

const Z = 'example.test.'
const ctx = {keyName: 'k1.', client: {address: '127.0.0.1', port: 5353, family: 4 as const}}

/** A zone as a list of records with the RFC's generic add/delete semantics; `refuse` makes check() say no. */
class MemoryZone implements UpdateZone {
  records: {name: string; type: number; ttl: number; rdata: Buffer}[] = []
  applied: UpdateOp[][] = []
  refuse = false
  constructor(readonly origin: string, initial: [string, number, RData][]) {
    for (const [name, type, data] of initial) this.records.push({name, type, ttl: 300, rdata: canonicalRdata(type, data)})
  }
  rrset(name: string, type: number): StoredRR[] {
    return this.records.filter((r) => r.name === name && (type === RRType.ANY || r.type === type))
  }
  nameInUse(name: string): boolean {
    return this.records.some((r) => r.name === name)
  }
  check() {
    return this.refuse ? {rcode: Rcode.REFUSED, reason: 'policy'} : null
  }
  apply(ops: UpdateOp[]): boolean {
    this.applied.push(ops)
    for (const op of ops) {
      if (op.op === 'add') {
        this.records = this.records.filter((r) => !(r.name === op.name && r.type === op.type && r.rdata.equals(op.rdata)))
        this.records.push({name: op.name, type: op.type, ttl: op.ttl, rdata: op.rdata})
      } else if (op.op === 'delete-name') this.records = this.records.filter((r) => r.name !== op.name)
      else if (op.op === 'delete-rrset') this.records = this.records.filter((r) => !(r.name === op.name && r.type === op.type))
      else this.records = this.records.filter((r) => !(r.name === op.name && r.type === op.type && r.rdata.equals(op.rdata)))
    }
    return ops.length > 0
  }
}

function zone(): MemoryZone {
  return new MemoryZone(Z, [
    [Z, RRType.NS, 'ns1.example.test.'],
    ['ns1.example.test.', RRType.A, '127.0.0.10'],
    ['glb.example.test.', RRType.NS, 'b1.glb.example.test.'],
    ['b1.glb.example.test.', RRType.A, '127.0.0.20'],
  ])
}

function run(z: MemoryZone, updates: UpdateRecord[], prerequisites: UpdateRecord[] = [], zoneName = Z) {
  const msg = readUpdate(buildUpdate(zoneName, updates, {prerequisites}))
  return processUpdate(msg, (n) => (n === z.origin ? z : undefined), ctx)
}

test('zone section: one SOA question for a zone we serve, else FORMERR / NOTAUTH', () => {
  const z = zone()
  assert.is(run(z, [], [], 'other.test.').rcode, Rcode.NOTAUTH)
  assert.is(run(z, [], [], 'glb.example.test.').rcode, Rcode.NOTAUTH, 'a name below the zone is not the zone')
  const msg = readUpdate(buildUpdate(Z, []))
  const find = () => z
  assert.is(processUpdate({...msg, zoneCount: 2} as UpdateMessage, find, ctx).rcode, Rcode.FORMERR)
  assert.is(processUpdate({...msg, zone: {...msg.zone, type: RRType.A}}, find, ctx).rcode, Rcode.FORMERR)
  assert.is(processUpdate({...msg, zone: {...msg.zone, class: RRClass.CH}}, find, ctx).rcode, Rcode.NOTAUTH)
})

test('prerequisites (§3.2): each kind, and their RCODEs', () => {
  const z = zone()
  const add = [addRecord('x.example.test.', 60, RRType.A, '127.0.0.5')]
  const cases: [string, UpdateRecord[], number][] = [
    ['name in use (yes)', [{name: 'ns1.example.test.', type: RRType.ANY, class: RRClass.ANY, ttl: 0, data: Buffer.alloc(0)}], Rcode.NOERROR],
    ['name in use (no)', [{name: 'nope.example.test.', type: RRType.ANY, class: RRClass.ANY, ttl: 0, data: Buffer.alloc(0)}], Rcode.NXDOMAIN],
    ['name not in use (it is)', [{name: 'ns1.example.test.', type: RRType.ANY, class: RRClass.NONE, ttl: 0, data: Buffer.alloc(0)}], Rcode.YXDOMAIN],
    ['RRset exists (no)', [rrsetExists('ns1.example.test.', RRType.AAAA)], Rcode.NXRRSET],
    ['RRset absent (it exists)', [rrsetAbsent('ns1.example.test.', RRType.A)], Rcode.YXRRSET],
    ['value: same RRset, other case', [{name: 'glb.example.test.', type: RRType.NS, class: RRClass.IN, ttl: 0, data: 'B1.GLB.example.test.'}], Rcode.NOERROR],
    ['value: differs', [{name: 'glb.example.test.', type: RRType.NS, class: RRClass.IN, ttl: 0, data: 'b2.glb.example.test.'}], Rcode.NXRRSET],
    ['value: a subset is not the RRset', [{name: Z, type: RRType.NS, class: RRClass.IN, ttl: 0, data: 'ns1.example.test.'}, {name: Z, type: RRType.NS, class: RRClass.IN, ttl: 0, data: 'ns2.example.test.'}], Rcode.NXRRSET],
    ['TTL not 0', [{...rrsetExists('ns1.example.test.', RRType.A), ttl: 5}], Rcode.FORMERR],
    ['outside the zone', [rrsetExists('ns1.other.test.', RRType.A)], Rcode.NOTZONE],
    ['class ANY with RDATA', [{name: 'ns1.example.test.', type: RRType.A, class: RRClass.ANY, ttl: 0, data: '127.0.0.1'}], Rcode.FORMERR],
  ]
  for (const [what, pre, rcode] of cases) {
    const before = z.applied.length
    const r = run(z, add, pre)
    assert.is(r.rcode, rcode, `${what}: ${r.reason}`)
    assert.is(z.applied.length, before + (rcode === Rcode.NOERROR ? 1 : 0), `${what}: applied only on success`)
  }
})

test('prescan (§3.4.1): NOTZONE and malformed deletes are refused before anything is applied', () => {
  const z = zone()
  const good = addRecord('y.example.test.', 60, RRType.A, '127.0.0.6')
  const bad: [string, UpdateRecord, number][] = [
    ['outside the zone', addRecord('y.other.test.', 60, RRType.A, '127.0.0.6'), Rcode.NOTZONE],
    ['add of type ANY', {name: 'y.example.test.', type: RRType.ANY, class: RRClass.IN, ttl: 0, data: Buffer.alloc(0)}, Rcode.FORMERR],
    ['class ANY delete with TTL', {...deleteRRset('y.example.test.', RRType.A), ttl: 9}, Rcode.FORMERR],
    ['class NONE delete with TTL', {...deleteRecord('y.example.test.', RRType.A, '127.0.0.6'), ttl: 9}, Rcode.FORMERR],
    ['class CH', {name: 'y.example.test.', type: RRType.A, class: RRClass.CH, ttl: 0, data: '127.0.0.6'}, Rcode.FORMERR],
  ]
  for (const [what, rr, rcode] of bad) {
    assert.is(run(z, [good, rr]).rcode, rcode, what)
  }
  assert.is(z.applied.length, 0)
  z.refuse = true
  assert.is(run(z, [good]).rcode, Rcode.REFUSED, 'the store\'s policy')
  assert.is(z.applied.length, 0)
})

test('updates (§3.4.2): add, delete RR / RRset / name; the apex SOA and NS RRset are never deleted', () => {
  const z = zone()
  assert.is(run(z, [addRecord('glb.example.test.', 300, RRType.NS, 'b2.glb.example.test.'), addRecord('b2.glb.example.test.', 300, RRType.A, '127.0.0.21')]).rcode, Rcode.NOERROR)
  assert.is(z.rrset('glb.example.test.', RRType.NS).length, 2)
  run(z, [deleteRecord('glb.example.test.', RRType.NS, 'B1.glb.example.test.')])
  assert.equal(z.rrset('glb.example.test.', RRType.NS).map((r) => r.rdata), [canonicalRdata(RRType.NS, 'b2.glb.example.test.')])
  run(z, [deleteRRset('b2.glb.example.test.', RRType.A), deleteName('b1.glb.example.test.')])
  assert.is(z.rrset('b2.glb.example.test.', RRType.A).length, 0)
  assert.not.ok(z.nameInUse('b1.glb.example.test.'))
  const r = run(z, [deleteRRset(Z, RRType.NS), deleteRRset(Z, RRType.SOA)])
  assert.is(r.rcode, Rcode.NOERROR)
  assert.is(r.ops.length, 0, 'apex NS/SOA RRset deletes are ignored (§3.4.2.3)')
  assert.is(z.rrset(Z, RRType.NS).length, 1)
})

test.run()
