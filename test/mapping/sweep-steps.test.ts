// MappingTable's sweep in steps and its "nothing lapses before minExpiry" shortcut: whatever the interleaving of
// registrations, renewals (also to a shorter lease), removals and partial sweeps, a lapsed lease is freed once
// the sweep has gone round, and nothing live is.
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import {MappingTable} from '../../src/mapping/mapping-table.js'
import {parsePrefix, type Prefix} from '../../src/mapping/prefix.js'

const NOW = 1_700_000_000

function P(s: string): Prefix {
  const p = parsePrefix(s)
  if (p === null) throw new Error(`bad prefix in test: ${s}`)
  return p
}

function table(): MappingTable {
  const t = new MappingTable()
  for (let i = 0; i < 3; i++) t.registerLb({name: `lb${i}.www.glb.example.test.`, addrs: [`127.0.2.${i + 1}`]})
  return t
}

/** Steps of `step` slots until the sweep has gone round the table at least twice. */
function goRound(t: MappingTable, now: number, step: number): void {
  for (let done = 0; done < 2 * t.slots + step; done += step) t.sweep(now, step)
}

test('sweep: a lease renewed to a shorter expiry is still swept after a pass raised the bound', () => {
  const t = table()
  t.upsert(P('10.0.0.1/32'), 0, NOW + 3600)
  t.upsert(P('10.0.0.2/32'), 1, NOW + 3600)
  assert.is(t.sweep(NOW), 0) // a whole pass: nothing lapses before NOW + 3600
  t.upsert(P('10.0.0.1/32'), 0, NOW + 10) // re-registered with a short lease
  assert.is(t.sweep(NOW + 20), 1)
  assert.is(t.leaseCount, 1)
})

test('sweep: steps free lapsed leases once they have gone round, also after removals mid-pass', () => {
  const t = table()
  for (let i = 0; i < 200; i++) t.upsert(P(`10.0.${i}.0/24`), i % 3, NOW + 10 + (i % 7) * 10)
  goRound(t, NOW, 16)
  assert.is(t.leaseCount, 200)
  t.sweep(NOW + 35, 40) // part of a pass
  for (let i = 0; i < 200; i += 9) t.remove(P(`10.0.${i}.0/24`))
  goRound(t, NOW + 35, 40)
  let live = 0
  for (let i = 0; i < 200; i++) if (i % 9 !== 0 && NOW + 10 + (i % 7) * 10 > NOW + 35) live++
  assert.is(t.leaseCount, live)
})

type Op =
  | {op: 'upsert'; p: number; lb: number; ttl: number}
  | {op: 'remove'; p: number}
  | {op: 'wait'; s: number}
  | {op: 'step'; slots: number}
  | {op: 'full'}

test('sweep: property, against a model of live leases', () => {
  const op: fc.Arbitrary<Op> = fc.oneof(
    {weight: 5, arbitrary: fc.record({op: fc.constant('upsert' as const), p: fc.integer({min: 0, max: 60}), lb: fc.integer({min: 0, max: 2}), ttl: fc.integer({min: 1, max: 100})})},
    {weight: 1, arbitrary: fc.record({op: fc.constant('remove' as const), p: fc.integer({min: 0, max: 60})})},
    {weight: 2, arbitrary: fc.record({op: fc.constant('wait' as const), s: fc.integer({min: 0, max: 40})})},
    {weight: 3, arbitrary: fc.record({op: fc.constant('step' as const), slots: fc.integer({min: 1, max: 64})})},
    {weight: 1, arbitrary: fc.constant({op: 'full' as const})},
  )
  // Prefixes of mixed lengths (some nested) so slots hold chains and lookups fall back to shorter ones.
  const prefixes = Array.from({length: 61}, (_, i) => (i % 3 === 0 ? `10.${i}.0.0/16` : i % 3 === 1 ? `10.${i - 1}.${i}.0/24` : `10.${i - 2}.${i}.${i}/32`))
  fc.assert(fc.property(fc.array(op, {maxLength: 120}), fc.integer({min: 1, max: 64}), (ops, finalStep) => {
    const t = table()
    const model = new Map<string, number>() // "prefix|lb" -> expiry
    let now = NOW
    for (const o of ops) {
      if (o.op === 'upsert') {
        t.upsert(P(prefixes[o.p]!), o.lb, now + o.ttl)
        model.set(`${o.p}|${o.lb}`, now + o.ttl)
      } else if (o.op === 'remove') {
        t.remove(P(prefixes[o.p]!))
        for (const k of [...model.keys()]) if (k.startsWith(`${o.p}|`)) model.delete(k)
      } else if (o.op === 'wait') now += o.s
      else if (o.op === 'step') t.sweep(now, o.slots)
      else t.sweep(now)
      // Never more freed than has lapsed.
      assert.ok(t.leaseCount >= [...model.values()].filter((e) => e > now).length)
    }
    goRound(t, now, finalStep)
    assert.is(t.leaseCount, [...model.values()].filter((e) => e > now).length)
  }), {numRuns: 300})
})

test.run()
