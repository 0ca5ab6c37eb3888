// MappingTable against a naive reference model under random operation sequences (fast-check).
// glb-test-timeout: 300
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import {formatAddress, MASK4, maskAddress} from '../../src/mapping/address.js'
import type {Address} from '../../src/mapping/address.js'
import {MappingTable} from '../../src/mapping/mapping-table.js'
import type {MappingMatch, UpsertOutcome} from '../../src/mapping/mapping-table.js'
import type {MappingState} from '../../src/mapping/mapping-state.js'
import {formatPrefix, prefixContains} from '../../src/mapping/prefix.js'
import type {Prefix} from '../../src/mapping/prefix.js'

const MAX_LBS = 3
const LBS = 4

interface Lease {
  lb: number
  exp: number
  pref: number
  seq: number
}

/** The reference: a Map of prefix -> lease list, every lookup a scan. Obviously right, hopelessly slow. */
class NaiveTable {
  keys = new Map<string, {prefix: Prefix; leases: Lease[]}>()
  private seq = 0

  private sorted(ls: Lease[]): Lease[] {
    return [...ls].sort((a, b) => a.pref - b.pref || a.seq - b.seq)
  }

  upsert(prefix: Prefix, lb: number, exp: number, pref: number | undefined): UpsertOutcome {
    const k = formatPrefix(prefix)
    const entry = this.keys.get(k) ?? {prefix, leases: []}
    const old = entry.leases.find((l) => l.lb === lb)
    if (old) {
      old.exp = exp
      if (pref === undefined || pref === old.pref) return 'renewed'
      const before = this.sorted(entry.leases).map((l) => l.lb).join()
      old.pref = pref
      old.seq = ++this.seq
      return this.sorted(entry.leases).map((l) => l.lb).join() === before ? 'renewed' : 'reordered'
    }
    const p = pref ?? Infinity
    if (entry.leases.length >= MAX_LBS) {
      const worst = this.sorted(entry.leases).at(-1)!
      if (!(p < worst.pref)) return 'full'
      entry.leases.splice(entry.leases.indexOf(worst), 1)
    }
    entry.leases.push({lb, exp, pref: p, seq: ++this.seq})
    this.keys.set(k, entry)
    return 'added'
  }

  remove(prefix: Prefix, lb: number | undefined): number {
    const k = formatPrefix(prefix)
    const entry = this.keys.get(k)
    if (!entry) return 0
    const keep = entry.leases.filter((l) => lb !== undefined && l.lb !== lb)
    const removed = entry.leases.length - keep.length
    entry.leases = keep
    if (keep.length === 0) this.keys.delete(k)
    return removed
  }

  sweep(now: number): number {
    let removed = 0
    for (const [k, e] of this.keys) {
      const keep = e.leases.filter((l) => l.exp > now)
      removed += e.leases.length - keep.length
      e.leases = keep
      if (keep.length === 0) this.keys.delete(k)
    }
    return removed
  }

  lookup(addr: Address, now: number, maxLen: number): {lbs: number[]; prefixLen: number; expiresAt: number} | null {
    let best: {lbs: number[]; prefixLen: number; expiresAt: number} | null = null
    for (const {prefix, leases} of this.keys.values()) {
      if (typeof prefix.addr !== typeof addr || prefix.len > maxLen || !prefixContains(prefix, addr)) continue
      const live = this.sorted(leases).filter((l) => l.exp > now)
      if (live.length === 0 || (best && best.prefixLen >= prefix.len)) continue
      best = {lbs: live.map((l) => l.lb), prefixLen: prefix.len, expiresAt: Math.min(...live.map((l) => l.exp))}
    }
    return best
  }

  busiest(addr: Address): number | null {
    const hoodLen = typeof addr === 'number' ? 16 : 32
    const hood = new Array<number>(LBS).fill(0)
    const overall = new Array<number>(LBS).fill(0)
    for (const {prefix, leases} of this.keys.values()) {
      const near =
        typeof prefix.addr === typeof addr && prefix.len >= hoodLen && prefixContains({addr: maskAddress(prefix.addr, hoodLen), len: hoodLen}, addr)
      for (const l of leases) {
        overall[l.lb]!++
        if (near) hood[l.lb]!++
      }
    }
    const argmax = (c: number[]) => c.reduce((best, n, id) => (n > 0 && (best < 0 || n > c[best]!) ? id : best), -1)
    const h = argmax(hood)
    if (h >= 0) return h
    const o = argmax(overall)
    return o >= 0 ? o : null
  }

  leaseCount(): number {
    let n = 0
    for (const e of this.keys.values()) n += e.leases.length
    return n
  }
}

// A small address space, varied at both ends of several octets, so prefixes and lookups overlap often and
// masks are exercised at many bit positions. Ops name prefixes by index into a per-run pool of 6,
// so several LBs land on one key and the per-key limit is reached.
const bits8 = fc.constantFrom(0, 1, 0x80, 0xff)
const v4Addr = fc.tuple(bits8, bits8, bits8).map(([x, y, z]) => (0x0a000000 | (x << 16) | (y << 8) | z) >>> 0)
const v6Addr = fc.tuple(bits8, bits8, bits8, bits8, bits8).map(([a, b, c, d, e]) => new Uint8Array([0x20, 0x01, 0x0d, 0xb8, a, 0, 0, b, c, 0, 0, d, 0, 0, 0, e]))
// Lengths at and either side of byte and word boundaries, where masking code goes wrong.
const v4Len = fc.oneof(fc.constantFrom(1, 7, 8, 9, 15, 16, 17, 23, 24, 25, 31, 32), fc.integer({min: 1, max: 32}))
const v6Len = fc.oneof(
  fc.constantFrom(1, 31, 32, 33, 39, 40, 41, 63, 64, 65, 71, 72, 73, 95, 96, 97, 127, 128),
  fc.integer({min: 1, max: 128}),
)
const prefix: fc.Arbitrary<Prefix> = fc.oneof(
  fc.tuple(v4Addr, v4Len).map(([a, len]) => ({addr: maskAddress(a, len), len})),
  fc.tuple(v6Addr, v6Len).map(([a, len]) => ({addr: maskAddress(a, len), len})),
)
const addr: fc.Arbitrary<Address> = fc.oneof(v4Addr, v6Addr)
const POOL = 6

type Op =
  | {op: 'upsert'; key: number; lb: number; ttl: number; pref: number | undefined}
  | {op: 'remove'; key: number; lb: number | undefined}
  | {op: 'sweep'}
  | {op: 'tick'; dt: number}
  | {op: 'lookup'; addr: Address; near: number | null; maxLen: number}

const key = fc.integer({min: 0, max: POOL - 1})
const op: fc.Arbitrary<Op> = fc.oneof(
  {weight: 6, arbitrary: fc.record({op: fc.constant('upsert' as const), key, lb: fc.integer({min: 0, max: LBS - 1}), ttl: fc.integer({min: 0, max: 10}), pref: fc.option(fc.constantFrom(1, 2, 2.5, 10), {nil: undefined, freq: 3})})},
  {weight: 1, arbitrary: fc.record({op: fc.constant('remove' as const), key, lb: fc.option(fc.integer({min: 0, max: LBS - 1}), {nil: undefined})})},
  {weight: 1, arbitrary: fc.constant({op: 'sweep' as const})},
  {weight: 2, arbitrary: fc.record({op: fc.constant('tick' as const), dt: fc.integer({min: 1, max: 4})})},
  {weight: 6, arbitrary: fc.record({op: fc.constant('lookup' as const), addr, near: fc.option(key, {freq: 2}), maxLen: fc.integer({min: 0, max: 129})})},
)

/** An address inside prefix p: p's network bits, the rest from `host` (when the families match). */
function inside(p: Prefix, host: Address): Address {
  if (typeof p.addr === 'number') return typeof host === 'number' ? (p.addr | (host & ~MASK4[p.len]!)) >>> 0 : p.addr
  if (typeof host === 'number') return p.addr
  const keep = maskAddress(host, p.len)
  return p.addr.map((b, k) => b | (host[k]! & ~keep[k]!))
}

/** The JSON form with entries grouped by prefix (table order is hash order), each prefix's leases in order. */
function canonical(state: MappingState) {
  return {...state, entries: [...state.entries].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))}
}

function view(m: MappingMatch | null) {
  return m === null ? null : {lbs: [...m.lbs.subarray(0, m.count)], prefixLen: m.prefixLen, expiresAt: m.expiresAt}
}

test('property: every operation sequence agrees with the naive model', () => {
  fc.assert(
    fc.property(fc.array(prefix, {minLength: POOL, maxLength: POOL}), fc.array(op, {minLength: 20, maxLength: 150}), (pool, ops) => {
      const t = new MappingTable({maxLbsPerKey: MAX_LBS})
      for (let i = 0; i < LBS; i++) t.registerLb({name: `lb${i}.example.`, addrs: [`127.0.2.${i + 1}`]})
      const ref = new NaiveTable()
      let now = 1000
      for (const o of ops) {
        const v = t.version
        switch (o.op) {
          case 'upsert': {
            const p = pool[o.key]!
            const got = t.upsert(p, o.lb, now + o.ttl, o.pref)
            assert.is(got, ref.upsert(p, o.lb, now + o.ttl, o.pref))
            assert.is(t.version !== v, got === 'added' || got === 'reordered', 'version moves iff the list changed')
            break
          }
          case 'remove': {
            const got = t.remove(pool[o.key]!, o.lb)
            assert.is(got, ref.remove(pool[o.key]!, o.lb))
            assert.is(t.version !== v, got > 0)
            break
          }
          case 'sweep':
            assert.is(t.sweep(now), ref.sweep(now))
            break
          case 'tick':
            now += o.dt
            break
          case 'lookup': {
            const a = o.near === null ? o.addr : inside(pool[o.near]!, o.addr)
            const want = ref.lookup(a, now, o.maxLen)
            assert.equal(view(t.lookupSubnet(a, o.maxLen, now)), want)
            if (o.maxLen >= (typeof a === 'number' ? 32 : 128)) {
              assert.equal(view(t.lookup(a, now)), want)
              assert.equal(view(t.lookupAddress(formatAddress(a), now)), want)
            }
            assert.is(t.busiestLbNear(a), ref.busiest(a))
            break
          }
        }
        assert.is(t.size, ref.keys.size)
        assert.is(t.leaseCount, ref.leaseCount())
      }
      // The persisted form brings back the same table.
      const u = MappingTable.fromJSON(JSON.parse(JSON.stringify(t.toJSON())), {maxLbsPerKey: MAX_LBS})
      assert.equal(canonical(u.toJSON()), canonical(t.toJSON()))
      for (const {prefix: p} of ref.keys.values()) assert.equal(view(u.lookup(p.addr, now)), view(t.lookup(p.addr, now)))
    }),
    {numRuns: 3000},
  )
})

test.run()
