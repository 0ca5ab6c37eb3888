// select(): lowest score wins, hysteresis holds against jitter, fallbacks, fresh start, weights/cost/load.
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import {HealthTable} from '../../src/select/health-table.js'
import {score} from '../../src/select/score.js'
import {select} from '../../src/select/select.js'
import type {Selection, ServerSpec} from '../../src/select/select.js'

const S1 = '127.0.10.1'
const S2 = '127.0.10.2'
const S3 = '127.0.10.3'
const V6 = 'fd00::10'

/** A table where each server has seen `n` identical samples: rtt ms, or null for failures. */
function tableOf(rtts: Record<string, number | null>, n = 5): HealthTable {
  const t = new HealthTable()
  for (const [address, rtt] of Object.entries(rtts))
    for (let i = 0; i < n; i++) t.ingest(address, rtt === null ? {ok: false, error: 'timeout', at: i} : {ok: true, rttMs: rtt, at: i})
  return t
}

test('lowest smoothed RTT wins; count gives the next best in order; families are separate', () => {
  const cases: Array<[Record<string, number | null>, number, string[]]> = [
    [{[S1]: 30, [S2]: 10, [S3]: 20}, 1, [S2]],
    [{[S1]: 30, [S2]: 10, [S3]: 20}, 2, [S2, S3]],
    [{[S1]: 30, [S2]: 10, [S3]: 20}, 5, [S2, S3, S1]],
    [{[S1]: 30, [S2]: null, [S3]: 20}, 3, [S3, S1]], // down servers are not answered
    [{[S1]: 5, [S2]: 5, [S3]: 5}, 1, [S1]], // ties break by address, so the answer is stable
  ]
  for (const [rtts, count, want] of cases) {
    const sel = select(tableOf(rtts), [S1, S2, S3], {count})
    assert.equal(sel.answers.A, want, JSON.stringify(rtts))
    assert.is(sel.outcome.A, 'best')
    assert.equal(sel.answers.AAAA, [])
    assert.is(sel.outcome.AAAA, 'none')
  }
  const mixed = select(tableOf({[S1]: 30, [S2]: 10, [V6]: 50}), [S1, S2, V6])
  assert.equal(mixed.answers, {A: [S2], AAAA: [V6]})
  assert.equal(mixed.best, {A: S2, AAAA: V6})
})

test('reasons explain every server: figures, up, score, chosen, why', () => {
  const sel = select(tableOf({[S1]: 30, [S2]: 10, [S3]: null}), [S1, S2, S3])
  const by = Object.fromEntries(sel.reasons.map((r) => [r.address, r]))
  assert.equal([by[S2]!.chosen, by[S2]!.srttMs, by[S2]!.score, by[S2]!.up, by[S2]!.loss], [true, 10, 10, true, 0])
  assert.is(by[S2]!.why, 'lowest score')
  assert.is(by[S1]!.chosen, false)
  assert.match(by[S1]!.why, /beyond count 1/)
  assert.equal([by[S3]!.up, by[S3]!.chosen, by[S3]!.loss], [false, false, 1])
  assert.match(by[S3]!.why, /^down \(5 consecutive failures, last: timeout\)/)
})

test('hysteresis: jitter smaller than the margin never flaps; a real improvement switches', () => {
  const table = new HealthTable({alpha: 0.5}) // a fast SRTT makes jitter visible in the score
  const servers = [S1, S2]
  const opts = {hysteresis: {absoluteMs: 3, relative: 0}}
  let current: Selection['best'] = {}
  const answers: string[] = []
  const feed = (r1: number, r2: number): void => {
    table.ingest(S1, {ok: true, rttMs: r1, at: 0})
    table.ingest(S2, {ok: true, rttMs: r2, at: 0})
    const sel = select(table, servers, {...opts, current})
    current = sel.best
    answers.push(sel.answers.A[0]!)
  }
  feed(20, 21) // S1 first
  // S2 jitters ±2 ms around S1's 20 ms: it is sometimes better, never by more than the 3 ms margin.
  for (let i = 0; i < 40; i++) feed(20, i % 2 ? 18 : 22)
  assert.ok(answers.every((a) => a === S1), `flapped: ${answers.join(' ')}`)
  // Without hysteresis the same jitter does flap (so the test above can fail).
  const flappy = new HealthTable({alpha: 0.5})
  const seen = new Set<string>()
  for (let i = 0; i < 40; i++) {
    flappy.ingest(S1, {ok: true, rttMs: 20, at: 0})
    flappy.ingest(S2, {ok: true, rttMs: i % 2 ? 18 : 22, at: 0})
    seen.add(select(flappy, servers, {hysteresis: {absoluteMs: 0, relative: 0}}).answers.A[0]!)
  }
  assert.is(seen.size, 2, 'zero margin follows every jitter')
  // S2 becomes clearly better (10 ms): the answer switches, and says why.
  for (let i = 0; i < 6; i++) feed(20, 10)
  assert.is(answers.at(-1), S2)
  const sel = select(table, servers, {...opts, current: {A: S1}})
  assert.match(sel.reasons.find((r) => r.address === S2)!.why, /^took over from 127\.0\.10\.1: better by \d+\.\d ms, beyond the margin of 3\.0 ms$/)
})

test('hysteresis margin is max(absolute, relative × incumbent score)', () => {
  // incumbent S1 at 100 ms; challenger S2 at 92 (gain 8) and 85 (gain 15); relative 10 % = 10 ms.
  const cases: Array<[number, {absoluteMs?: number; relative?: number}, string]> = [
    [92, {absoluteMs: 2, relative: 0.1}, S1], // 8 <= max(2, 10)
    [85, {absoluteMs: 2, relative: 0.1}, S2], // 15 > 10
    [85, {absoluteMs: 20, relative: 0.1}, S1], // 15 <= max(20, 10)
    [92, {absoluteMs: 5, relative: 0}, S2], // 8 > 5
  ]
  for (const [c, hysteresis, want] of cases) {
    const sel = select(tableOf({[S1]: 100, [S2]: c}), [S1, S2], {hysteresis, current: {A: S1}})
    assert.is(sel.answers.A[0], want, `challenger ${c} ms, ${JSON.stringify(hysteresis)}`)
  }
  // A down incumbent is never held.
  const down = select(tableOf({[S1]: null, [S2]: 92}), [S1, S2], {current: {A: S1}})
  assert.equal(down.answers.A, [S2])
})

test('all down: fallback "all" answers the whole pool, "servfail" says so; never an empty success', () => {
  const table = tableOf({[S1]: null, [S2]: null})
  const all = select(table, [S1, S2])
  assert.equal([all.answers.A, all.outcome.A, all.servfail], [[S1, S2], 'fallback-all', false])
  const sf = select(table, [S1, S2], {fallback: 'servfail'})
  assert.equal([sf.answers.A, sf.outcome.A, sf.servfail], [[], 'servfail', true])
  assert.ok(sf.reasons.every((r) => !r.chosen && /fallback servfail/.test(r.why)))
})

test('fresh start answers the whole pool; partly measured answers what is not known down', () => {
  const fresh = select(new HealthTable(), [S1, S2, S3], {count: 1})
  assert.equal([fresh.answers.A, fresh.outcome.A], [[S1, S2, S3], 'fresh'])
  assert.equal(fresh.best, {})
  // S1 measured down, S2 and S3 never measured: answer S2 and S3, not the dead one.
  const partly = select(tableOf({[S1]: null}), [S1, S2, S3], {fallback: 'servfail'})
  assert.equal([partly.answers.A, partly.outcome.A], [[S2, S3], 'unmeasured'])
  // Once one is measured up, it is the answer.
  const one = select(tableOf({[S1]: null, [S3]: 40}), [S1, S2, S3])
  assert.equal([one.answers.A, one.outcome.A], [[S3], 'best'])
})

test('weight, cost and load change the choice exactly as the score formula says', () => {
  const rtts: Record<string, number> = {[S1]: 10, [S2]: 20}
  const cases: Array<[string, ServerSpec[], object, string]> = [
    ['plain: lower RTT', [{address: S1}, {address: S2}], {}, S1],
    ['weight 3 on S2: 20/3 < 10', [{address: S1}, {address: S2, weight: 3}], {}, S2],
    ['weight 1.9 on S2: 20/1.9 > 10', [{address: S1}, {address: S2, weight: 1.9}], {}, S1],
    ['cost 15 on S1: 10+15 > 20', [{address: S1, cost: 15}, {address: S2}], {}, S2],
    ['cost 15 on S1, costWeight 0.5: 17.5 < 20', [{address: S1, cost: 15}, {address: S2}], {policy: {costWeight: 0.5}}, S1],
    ['S1 at 150 % load: 10·2.5 > 20', [{address: S1, load: 150, capacity: 100}, {address: S2}], {}, S2],
    ['S1 at 90 % load: 10·1.9 < 20', [{address: S1, load: 0.9}, {address: S2}], {}, S1],
    ['S1 at 150 % load, loadWeight 0.5: 17.5 < 20', [{address: S1, load: 1.5}, {address: S2}], {policy: {loadWeight: 0.5}}, S1],
  ]
  for (const [name, servers, opts, want] of cases) {
    const sel = select(tableOf(rtts), servers, {hysteresis: {absoluteMs: 0, relative: 0}, ...opts})
    assert.is(sel.answers.A[0], want, name)
    for (const r of sel.reasons) {
      const spec = servers.find((s) => s.address === r.address)!
      const load = spec.capacity ? (spec.load ?? 0) / spec.capacity : spec.load ?? 0
      const expect = score({srttMs: rtts[r.address]!, loadFraction: load, loss: 0, cost: spec.cost ?? 0, weight: spec.weight ?? 1}, (opts as any).policy)
      assert.ok(Math.abs(r.score! - expect) < 0.001, `${name}: ${r.address} score ${r.score} vs formula ${expect}`)
    }
  }
  // A load reported to the table beats the configured one.
  const t = tableOf(rtts)
  t.reportLoad(S1, 1.5)
  assert.is(select(t, [{address: S1, load: 0}, {address: S2}], {hysteresis: {absoluteMs: 0}}).answers.A[0], S2)
})

test('loss weighs in only when lossWeight is set', () => {
  const t = new HealthTable({downAfter: 10})
  for (let i = 0; i < 10; i++) {
    t.ingest(S1, i % 2 ? {ok: false, at: 0} : {ok: true, rttMs: 10, at: 0}) // 50 % loss, still up
    t.ingest(S2, {ok: true, rttMs: 13, at: 0})
  }
  const h = {hysteresis: {absoluteMs: 0, relative: 0}}
  assert.is(select(t, [S1, S2], h).answers.A[0], S1)
  assert.is(select(t, [S1, S2], {...h, policy: {lossWeight: 1}}).answers.A[0], S2) // 10·1.5 > 13
})

test('health state survives toJSON/fromJSON: same selection after a restart; stale entries dropped', () => {
  const t = tableOf({[S1]: 30, [S2]: 10, [S3]: null})
  t.reportLoad(S2, 0.2)
  const json = JSON.parse(JSON.stringify(t.toJSON()))
  const back = HealthTable.fromJSON(json)
  assert.equal(select(back, [S1, S2, S3], {count: 3}), select(t, [S1, S2, S3], {count: 3}))
  assert.is(back.load(S2), 0.2)
  // Entries whose last sample is older than maxAgeMs are dropped.
  json.servers[S1].lastAt = 1_000
  json.servers[S2].lastAt = 100_000
  const aged = HealthTable.fromJSON(json, {}, {maxAgeMs: 50_000, now: 120_000})
  assert.equal(aged.addresses().sort(), [S2])
  assert.throws(() => HealthTable.fromJSON({version: 1, savedAt: 0, servers: {[S1]: {...json.servers[S1], window: 'x'}}}), /servers\.127\.0\.10\.1\.window/)
  assert.throws(() => HealthTable.fromJSON({version: 2}), /version/)
})

test('property: a family with servers always gets an answer, unless the caller asked for servfail', () => {
  const rtt = fc.option(fc.integer({min: 1, max: 500}), {nil: null, freq: 2})
  // Per server: some samples, then maybe a run of failures, so "all down" comes up often.
  const history = fc.tuple(fc.array(rtt, {maxLength: 8}), fc.boolean())
  fc.assert(
    fc.property(fc.tuple(history, history, history), fc.constantFrom<'all' | 'servfail'>('all', 'servfail'), fc.integer({min: 1, max: 4}), (histories, fallback, count) => {
      const t = new HealthTable()
      histories.forEach(([rtts, dies], i) => {
        for (const r of [...rtts, ...(dies ? [null, null, null] : [])]) t.ingest([S1, S2, S3][i]!, r === null ? {ok: false, at: 0} : {ok: true, rttMs: r, at: 0})
      })
      const sel = select(t, [S1, S2, S3], {fallback, count})
      if (sel.outcome.A === 'servfail') return fallback === 'servfail' && sel.answers.A.length === 0 && sel.servfail
      const answers = sel.answers.A
      return answers.length > 0 && answers.every((a) => [S1, S2, S3].includes(a)) && new Set(answers).size === answers.length && !sel.servfail
    }),
    {numRuns: 500},
  )
})

test.run()
