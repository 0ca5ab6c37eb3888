// MappingTable behaviour: longest-prefix lookups, ECS scope, leases, several LBs per key, changes, JSON form.
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {parseAddress} from '../../src/mapping/address.js'
import {MappingTable} from '../../src/mapping/mapping-table.js'
import type {MappingChange, MappingMatch} from '../../src/mapping/mapping-table.js'
import {MappingStateError} from '../../src/mapping/mapping-state.js'
import type {MappingState} from '../../src/mapping/mapping-state.js'
import {formatPrefix, parsePrefix} from '../../src/mapping/prefix.js'
import {labelsToPrefix} from '../../src/mapping/rpz-labels.js'
import type {Prefix} from '../../src/mapping/prefix.js'

const NOW = 1_700_000_000
const LATER = NOW + 3600

function P(s: string): Prefix {
  const p = parsePrefix(s)
  if (p === null) throw new Error(`bad prefix in test: ${s}`)
  return p
}

function A(s: string) {
  const a = parseAddress(s)
  if (a === null) throw new Error(`bad address in test: ${s}`)
  return a
}

/** A copy of what a match says, for comparing: [lb names best first, prefixLen]. */
function said(t: MappingTable, m: MappingMatch | null): [string[], number] | null {
  if (m === null) return null
  return [[...m.lbs.subarray(0, m.count)].map((id) => t.lb(id)!.name.split('.')[0]!), m.prefixLen]
}

/** A table with LBs lb0..lb3 and the given [prefix, lb index] registrations, all expiring at LATER. */
function tableWith(regs: [string, number, number?][]): MappingTable {
  const t = new MappingTable()
  for (let i = 0; i < 4; i++) t.registerLb({name: `lb${i}.www.glb.example.test.`, addrs: [`127.0.2.${i + 1}`]})
  for (const [p, lb, pref] of regs) t.upsert(P(p), lb, LATER, pref)
  return t
}

const regs: [string, number][] = [
  ['127.0.1.53/32', 0],
  ['127.0.1.0/24', 1],
  ['127.0.0.0/8', 2],
  ['10.1.0.0/16', 1],
  ['10.1.2.0/23', 3],
  ['2001:db8::/32', 0],
  ['2001:db8:1::/48', 1],
  ['2001:db8:1::53/128', 2],
]

const lookups: [string, [string[], number] | null][] = [
  ['127.0.1.53', [['lb0'], 32]], // exact address beats every prefix
  ['127.0.1.54', [['lb1'], 24]],
  ['127.9.9.9', [['lb2'], 8]],
  ['10.1.3.200', [['lb3'], 23]], // longest of two matching prefixes
  ['10.1.4.1', [['lb1'], 16]],
  ['10.2.0.1', null],
  ['192.0.2.1', null],
  ['2001:db8:1::53', [['lb2'], 128]],
  ['2001:db8:1::54', [['lb1'], 48]],
  ['2001:db8:2::1', [['lb0'], 32]],
  ['2001:db9::1', null],
  ['::ffff:127.0.1.53', null], // a parsed v6 address is v6; only the rinfo path maps it to v4
]

test('lookup: exact first, then the longest prefix, IPv4 and IPv6', () => {
  const t = tableWith(regs)
  for (const [addr, want] of lookups) assert.equal(said(t, t.lookup(A(addr), NOW)), want, addr)
})

test('lookupAddress (rinfo.address text) agrees with lookup, maps ::ffff:v4 and ignores zones', () => {
  const t = tableWith(regs)
  for (const [addr, want] of lookups) {
    if (addr.startsWith('::ffff:')) continue
    assert.equal(said(t, t.lookupAddress(addr, NOW)), want, addr)
  }
  assert.equal(said(t, t.lookupAddress('::ffff:127.0.1.53', NOW)), [['lb0'], 32])
  assert.equal(said(t, t.lookupAddress('::ffff:7f00:135', NOW)), [['lb0'], 32])
  assert.equal(said(t, t.lookupAddress('2001:db8:1::53%eth0', NOW)), [['lb2'], 128])
  assert.is(t.lookupAddress('not an address', NOW), null)
  assert.is(t.lookupAddress('', NOW), null)
})

const subnets: [string, number, [string[], number] | null][] = [
  // [ECS address, SOURCE PREFIX-LENGTH, expected LBs and SCOPE]
  ['127.0.1.0', 24, [['lb1'], 24]],
  ['127.0.1.53', 32, [['lb0'], 32]],
  ['127.0.1.53', 24, [['lb1'], 24]], // a /24 source cannot select the /32 entry
  ['127.0.1.0', 16, [['lb2'], 8]], // scope shorter than source
  ['10.1.2.0', 24, [['lb3'], 23]],
  ['10.1.2.0', 22, [['lb1'], 16]],
  ['10.1.0.0', 8, null],
  ['127.0.1.53', 0, null], // RFC 7871 §7.1.2: source 0 asks for no tailoring
  ['2001:db8:1::', 56, [['lb1'], 48]],
  ['2001:db8:1::', 40, [['lb0'], 32]],
]

test('lookupSubnet: ECS subnet picks the entry and reports its length as the scope', () => {
  const t = tableWith(regs)
  for (const [addr, source, want] of subnets) assert.equal(said(t, t.lookupSubnet(A(addr), source, NOW)), want, `${addr}/${source}`)
})

test('lookup reuses one result object (the hot path allocates nothing)', () => {
  const t = tableWith(regs)
  const m1 = t.lookup(A('127.0.1.53'), NOW)
  const m2 = t.lookupAddress('2001:db8:1::54', NOW)
  assert.ok(m1 !== null && m1 === m2)
})

test('leases: an expired lease is never returned, even before a sweep', () => {
  const t = tableWith([])
  t.upsert(P('127.0.1.53/32'), 0, NOW + 10)
  t.upsert(P('127.0.1.0/24'), 1, NOW + 20)
  assert.equal(said(t, t.lookupAddress('127.0.1.53', NOW + 9.5)), [['lb0'], 32])
  // The /32 lapsed at NOW+10 (expiry is exclusive): the /24 answers until it lapses too.
  assert.equal(said(t, t.lookupAddress('127.0.1.53', NOW + 10)), [['lb1'], 24])
  assert.is(t.lookupAddress('127.0.1.53', NOW + 20), null)
  assert.is(t.size, 2, 'nothing removed until a sweep')
})

test('leases: sweep removes the expired, renewal extends', () => {
  const t = tableWith([])
  t.upsert(P('127.0.1.53/32'), 0, NOW + 10)
  t.upsert(P('127.0.1.54/32'), 0, NOW + 10)
  assert.is(t.upsert(P('127.0.1.54/32'), 0, NOW + 100), 'renewed')
  assert.is(t.sweep(NOW + 50), 1)
  assert.is(t.size, 1)
  assert.is(t.leaseCount, 1)
  assert.is(t.lookupAddress('127.0.1.53', NOW + 50), null)
  assert.equal(said(t, t.lookupAddress('127.0.1.54', NOW + 50)), [['lb0'], 32])
  assert.is(t.sweep(NOW + 50), 0)
  assert.is(t.sweep(NOW + 100), 1)
  assert.is(t.size, 0)
  assert.is(t.leaseCount, 0)
})

test('several LBs per key: best preference first, no preference last, each expiring on its own', () => {
  const t = tableWith([])
  const k = P('10.1.0.0/16')
  assert.is(t.upsert(k, 0, NOW + 30), 'added') // no preference
  assert.is(t.upsert(k, 1, NOW + 10, 25), 'added')
  assert.is(t.upsert(k, 2, NOW + 20, 7.5), 'added')
  assert.is(t.upsert(k, 3, NOW + 20, 25), 'added') // ties keep registration order
  assert.equal(said(t, t.lookupAddress('10.1.9.9', NOW)), [['lb2', 'lb1', 'lb3', 'lb0'], 16])
  assert.is(t.lookupAddress('10.1.9.9', NOW)!.expiresAt, NOW + 10)
  assert.equal(said(t, t.lookupAddress('10.1.9.9', NOW + 10)), [['lb2', 'lb3', 'lb0'], 16])
  assert.equal(said(t, t.lookupAddress('10.1.9.9', NOW + 20)), [['lb0'], 16])
  // A new measurement moves an LB; a renewal without one keeps its place and preference.
  assert.is(t.upsert(k, 0, NOW + 60, 1), 'reordered')
  assert.is(t.upsert(k, 1, NOW + 60), 'renewed')
  assert.is(t.upsert(k, 2, NOW + 60, 7.5), 'renewed')
  assert.is(t.upsert(k, 3, NOW + 60, 30), 'renewed') // new preference, same place
  assert.equal(said(t, t.lookupAddress('10.1.9.9', NOW + 30)), [['lb0', 'lb2', 'lb1', 'lb3'], 16])
  assert.equal(
    [...t.entries()].map((e) => [e.lbId, e.pref]),
    [[0, 1], [2, 7.5], [1, 25], [3, 30]],
  )
})

test('maxLbsPerKey: a better lease evicts the worst, a worse one is refused', () => {
  const t = new MappingTable({maxLbsPerKey: 2})
  for (let i = 0; i < 4; i++) t.registerLb({name: `lb${i}.example.`, addrs: [`127.0.2.${i + 1}`]})
  const k = P('10.1.0.0/16')
  t.upsert(k, 0, LATER, 10)
  t.upsert(k, 1, LATER, 20)
  assert.is(t.upsert(k, 2, LATER, 30), 'full')
  assert.is(t.upsert(k, 3, LATER), 'full')
  assert.is(t.upsert(k, 2, LATER, 5), 'added')
  assert.equal(said(t, t.lookup(A('10.1.0.1'), NOW)), [['lb2', 'lb0'], 16])
  assert.is(t.leaseCount, 2)
})

test('remove one LB or the whole key', () => {
  const t = tableWith([['10.1.0.0/16', 0], ['10.1.0.0/16', 1], ['10.0.0.0/8', 2]])
  assert.is(t.remove(P('10.1.0.0/16'), 0), 1)
  assert.equal(said(t, t.lookup(A('10.1.0.1'), NOW)), [['lb1'], 16])
  assert.is(t.remove(P('10.1.0.0/16'), 0), 0)
  assert.is(t.remove(P('10.1.0.0/16')), 1)
  assert.equal(said(t, t.lookup(A('10.1.0.1'), NOW)), [['lb2'], 8])
  assert.is(t.remove(P('192.0.2.0/24')), 0)
  assert.is(t.size, 1)
  assert.throws(() => t.remove({addr: 0x0a010001, len: 16}), /beyond \/16/)
})

test('upsert rejects what cannot be a lease, naming it', () => {
  const t = tableWith([])
  assert.throws(() => t.upsert({addr: 0x0a010001, len: 16}, 0, LATER), /10\.1\.0\.1\/16.*beyond \/16/)
  assert.throws(() => t.upsert(P('10.1.0.0/16'), 9, LATER), /DNS-LB id 9 is not registered/)
  assert.throws(() => t.upsert(P('10.1.0.0/16'), 0, NaN), /not a finite Unix time/)
  assert.throws(() => t.upsert(P('10.1.0.0/16'), 0, LATER, Infinity), /preference/)
  assert.is(t.size, 0)
})

test('LB registry: ids are interned by name; address changes are seen', () => {
  const t = new MappingTable()
  const a = t.registerLb({name: 'LB1.www.glb.example.test', addrs: ['127.0.2.1', '127.0.2.1', 'FD00::0:1']})
  assert.is(a, 0)
  assert.equal(t.lb(a), {id: 0, name: 'lb1.www.glb.example.test.', addrs: ['127.0.2.1', 'fd00::1']})
  const v = t.lbVersion
  assert.is(t.registerLb({name: 'lb1.www.glb.example.test.', addrs: ['127.0.2.1', 'fd00::1']}), a)
  assert.is(t.lbVersion, v, 'same identity again changes nothing')
  assert.is(t.registerLb({name: 'lb1.www.glb.example.test.', addrs: ['127.0.2.9']}), a)
  assert.is(t.lbVersion, v + 1)
  assert.equal(t.lb(a)!.addrs, ['127.0.2.9'])
  assert.is(t.registerLb({name: 'lb2.www.glb.example.test.', addrs: ['127.0.2.2']}), 1)
  assert.is(t.lbIdOf('LB2.www.glb.example.test'), 1)
  assert.is(t.lbIdOf('lb3.www.glb.example.test.'), -1)
  assert.throws(() => t.registerLb({name: 'lb 3.example.', addrs: ['127.0.2.3']}), /label "lb 3"/)
  assert.throws(() => t.registerLb({name: 'lb3.example.', addrs: []}), /at least one address/)
  assert.throws(() => t.registerLb({name: 'lb3.example.', addrs: ['127.0.2.300']}), /"127\.0\.2\.300" is not/)
})

test('change notification: version moves when an LB list changes, not on renewal; events say what', () => {
  const t = tableWith([])
  const seen: MappingChange[] = []
  const off = t.onChange((c) => seen.push(c))
  const k = P('2001:db8::/32')
  let v = t.version
  t.upsert(k, 0, NOW + 10, 5)
  assert.ok(t.version > v, 'added')
  v = t.version
  t.upsert(k, 0, NOW + 20, 5)
  assert.is(t.version, v, 'renewal')
  t.upsert(k, 1, NOW + 20, 1)
  assert.ok(t.version > v, 'second LB')
  v = t.version
  t.upsert(k, 0, NOW + 20, 0)
  assert.ok(t.version > v, 'reordered')
  v = t.version
  t.sweep(NOW + 10)
  assert.is(t.version, v, 'sweep with nothing expired')
  t.sweep(NOW + 20)
  assert.ok(t.version > v, 'sweep removed leases')
  t.registerLb({name: 'lb9.example.', addrs: ['127.0.2.9']})
  off()
  t.upsert(k, 0, LATER)
  assert.equal(
    seen.map((c) => (c.kind === 'entry' ? `entry ${formatPrefix(c.prefix)}` : c.kind === 'sweep' ? `sweep ${c.removed}` : `lb ${c.lbId}`)),
    ['entry 2001:db8::/32', 'entry 2001:db8::/32', 'entry 2001:db8::/32', 'sweep 2', 'lb 4'],
  )
})

test('busiestLbNear: most leases in the same /16 (or /32 for IPv6), else overall', () => {
  const t = tableWith([
    ['10.1.0.1/32', 0],
    ['10.1.0.2/32', 1],
    ['10.1.0.3/32', 1],
    ['10.2.0.0/24', 2],
    ['10.2.1.0/24', 2],
    ['10.2.2.0/24', 2],
    ['10.0.0.0/8', 0], // shorter than /16: counts overall only
    ['2001:db8:5::/48', 3],
  ])
  assert.is(t.busiestLbNear(A('10.1.200.200')), 1)
  assert.is(t.busiestLbNear(A('10.2.9.9')), 2)
  assert.is(t.busiestLbNear(A('192.0.2.1')), 2, 'overall: lb2 holds 3, lb0 2, lb1 2')
  assert.is(t.busiestLbNear(A('2001:db8:ffff::1')), 3)
  t.remove(P('10.2.0.0/24'))
  t.remove(P('10.2.1.0/24'))
  assert.is(t.busiestLbNear(A('192.0.2.1')), 0, 'tie between lb0 and lb1 goes to the name that sorts first')
  assert.is(new MappingTable().busiestLbNear(A('10.1.0.1')), null)
})

test('entries() lists every lease; with now, only live ones', () => {
  const t = tableWith([])
  t.upsert(P('10.1.0.0/16'), 0, NOW + 10, 3)
  t.upsert(P('10.1.0.0/16'), 1, NOW + 20)
  t.upsert(P('2001:db8::/32'), 2, NOW + 20)
  const all = [...t.entries()].map((e) => `${formatPrefix(e.prefix)} ${e.lbId} ${e.expiresAt - NOW} ${e.pref}`)
  assert.equal(all, ['10.1.0.0/16 0 10 3', '10.1.0.0/16 1 20 null', '2001:db8::/32 2 20 null'])
  assert.is([...t.entries(NOW + 15)].length, 2)
})

test('toJSON / fromJSON round trip keeps LB ids, leases, order and lookups', () => {
  const t = tableWith(regs.concat([['10.1.0.0/16', 2]]))
  t.upsert(P('10.1.0.0/16'), 0, NOW + 5, 0.25)
  const text = JSON.stringify(t.toJSON())
  const u = MappingTable.fromJSON(JSON.parse(text))
  // Table order is hash order and may differ after a reload; a prefix's own leases keep their order.
  const byPrefix = (s: MappingState) => [...s.entries].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
  assert.equal(byPrefix(u.toJSON()), byPrefix(t.toJSON()))
  assert.equal(u.lbs(), t.lbs())
  assert.is(u.size, t.size)
  assert.is(u.leaseCount, t.leaseCount)
  for (const [addr] of lookups) assert.equal(said(u, u.lookup(A(addr), NOW)), said(t, t.lookup(A(addr), NOW)), addr)
  assert.equal(said(u, u.lookup(A('10.1.0.9'), NOW)), [['lb0', 'lb1', 'lb2'], 16])
  // Loading with `now` drops what has already expired.
  const v = MappingTable.fromJSON(JSON.parse(text), {now: NOW + 5})
  assert.is(v.leaseCount, t.leaseCount - 1)
})

test('fromJSON accepts the documented example and rejects bad members by name', () => {
  const good = {
    format: 'glb-mapping/1',
    lbs: [{name: 'lb1.www.glb.example.test.', addrs: ['127.0.2.1']}],
    entries: [['127.0.1.53/32', 0, LATER], ['10.1.0.0/16', 0, LATER, 12.5], ['2001:db8::1', 0, LATER]],
  }
  const t = MappingTable.fromJSON(good)
  assert.equal(said(t, t.lookupAddress('2001:db8::1', NOW)), [['lb1'], 128])
  const bad: [unknown, RegExp][] = [
    [[], /not a JSON object/],
    [{...good, format: 'other/2'}, /"format" is "other\/2"/],
    [{...good, lbs: {}}, /"lbs" is not an array/],
    [{...good, lbs: [{name: 'x.'}]}, /lbs\[0\] is not/],
    [{...good, lbs: [good.lbs[0], good.lbs[0]]}, /lbs\[1\]: lb1\.www\.glb\.example\.test\. is listed twice/],
    [{...good, entries: [['10.1.0.0/16', 1, LATER]]}, /entries\[0\]: lb 1 is not an index/],
    [{...good, entries: [['10.1.0.1/16', 0, LATER]]}, /entries\[0\]: "10\.1\.0\.1\/16" has bits set beyond \/16/],
    [{...good, entries: [['10.1.0.0/0', 0, LATER]]}, /bad prefix length/],
    [{...good, entries: [['10.1.0.0/33', 0, LATER]]}, /bad prefix length/],
    [{...good, entries: [['10.1.0.0/16', 0, 'soon']]}, /expiresAt is not a number/],
    [{...good, entries: [['10.1.0.0/16', 0, LATER, 'near']]}, /pref is not a number/],
    [{...good, entries: [['10.1.0/16', 0, LATER]]}, /not an address\/len prefix/],
    [{...good, entries: [{prefix: '10.1.0.0/16'}]}, /entries\[0\] is not \[prefix/],
  ]
  for (const [state, re] of bad) {
    try {
      MappingTable.fromJSON(state)
      assert.unreachable(`accepted ${JSON.stringify(state)}`)
    } catch (e) {
      assert.instance(e, MappingStateError)
      assert.match((e as Error).message, re)
    }
  }
})

test('growth and deletion keep every prefix findable (many keys, half removed)', () => {
  const t = tableWith([])
  const n = 50_000
  for (let i = 0; i < n; i++) t.upsert({addr: (0x0a000000 + i * 7) >>> 0, len: 32}, i % 4, NOW + (i % 2 === 0 ? 10 : 100))
  for (let i = 0; i < 2000; i++) {
    const b = new Uint8Array(16)
    b[0] = 0x20
    b[1] = 0x01
    b[14] = i >> 8
    b[15] = i & 0xff
    t.upsert({addr: b, len: 128}, 0, NOW + (i % 2 === 0 ? 10 : 100))
  }
  assert.is(t.sweep(NOW + 50), n / 2 + 1000)
  for (let i = 0; i < n; i++) {
    const m = t.lookup((0x0a000000 + i * 7) >>> 0, NOW + 50)
    if (i % 2 === 0) assert.is(m, null)
    else assert.is(m?.lbs[0], i % 4)
  }
  const b = new Uint8Array(16)
  b[0] = 0x20
  b[1] = 0x01
  for (let i = 0; i < 2000; i++) {
    b[14] = i >> 8
    b[15] = i & 0xff
    assert.is(t.lookup(b, NOW + 50) !== null, i % 2 === 1)
  }
  assert.is(t.size, n / 2 + 1000)
})

test('incremental sweep: bounded steps that together remove every expired lease', () => {
  const t = tableWith([])
  const n = 20_000
  for (let i = 0; i < n; i++) t.upsert({addr: (0x0a000000 + i) >>> 0, len: 32}, i % 4, NOW + (i % 3 === 0 ? 10 : 100))
  const b = new Uint8Array(16)
  b[0] = 0x20
  for (let i = 0; i < 300; i++) {
    b[15] = i & 0xff
    b[14] = i >> 8
    t.upsert({addr: b.slice(), len: 128}, 1, NOW + 10)
  }
  const expired = Math.ceil(n / 3) + 300
  let removed = 0
  let calls = 0
  while (removed < expired && calls < 1000) {
    const r = t.sweep(NOW + 50, 1024)
    assert.ok(r <= 1024 * 4, 'one step touches about maxSlots slots')
    removed += r
    calls++
  }
  assert.is(removed, expired)
  // 20,000 IPv4 prefixes sit in 65,536 slots, 300 IPv6 in 1,024: one pass is about 65 steps of 1,024.
  assert.ok(calls <= 70, `took ${calls} steps`)
  assert.is(t.leaseCount, n - Math.ceil(n / 3))
  for (let i = 0; i < n; i += 97) assert.is(t.lookup((0x0a000000 + i) >>> 0, NOW + 50) !== null, i % 3 !== 0)
})

test('the README example does what it says', () => {
  const t = new MappingTable()
  const lb1 = t.registerLb({name: 'lb1.www.glb.example.test.', addrs: ['127.0.2.1']})
  const lb2 = t.registerLb({name: 'lb2.www.glb.example.test.', addrs: ['127.0.2.2']})
  const now = NOW
  t.upsert(labelsToPrefix(['32', '53', '1', '0', '127'])!, lb1, now + 300, 4)
  t.upsert(parsePrefix('127.0.1.0/24')!, lb2, now + 300, 9)
  t.upsert(parsePrefix('127.0.1.53/32')!, lb2, now + 300, 9)
  const m = t.lookupAddress('127.0.1.53', now)!
  assert.equal([m.lbs[0], m.count > 1 ? m.lbs[1] : -1], [lb1, lb2])
  assert.is(t.lookupAddress('192.0.2.1', now), null)
  assert.is(t.busiestLbNear(A('192.0.2.1')), lb2)
  const e = t.lookupSubnet(A('127.0.1.0'), 24, now)!
  assert.equal([e.lbs[0], e.prefixLen], [lb2, 24])
})

test('two DNS-Bs that learnt the same LBs in other orders break ties alike (busiest, name order)', () => {
  const names = ['lb3.example.', 'lb1.example.', 'lb2.example.']
  const build = (order: string[]) => {
    const t = new MappingTable()
    for (const n of order) t.registerLb({name: n, addrs: ['127.0.2.1']})
    // One lease each in 127.0/16: a three-way tie in the neighbourhood and overall.
    names.forEach((n, i) => t.upsert(P(`127.0.${i + 1}.53/32`), t.lbIdOf(n), LATER))
    const busiest = (a: string) => t.lb(t.busiestLbNear(A(a))!)!.name
    return {near: busiest('127.0.9.9'), overall: busiest('10.9.9.9'), byName: t.lbsByName().map((lb) => lb.name)}
  }
  const one = build(names)
  const other = build([...names].reverse())
  assert.equal(one, other)
  assert.is(one.near, 'lb1.example.')
  assert.equal(one.byName, ['lb1.example.', 'lb2.example.', 'lb3.example.'])
})

test.run()
