// measure(): counts, loss, order statistics and pacing; parseTarget(): the target forms the CLI accepts.
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {measure, summarize} from '../../src/probe/measure.js'
import {parseTarget} from '../../src/probe/parse-target.js'
import {probeTarget} from '../../src/probe/prober.js'
import type {Prober} from '../../src/probe/prober.js'

test('summarize: min/avg/median/max over successes only; loss over all', () => {
  const t = probeTarget('127.0.60.1', 80)
  const s = summarize(t, 'udp', [
    {ok: true, rttMs: 4, at: 0},
    {ok: false, error: 'timeout after 1000 ms', at: 0},
    {ok: true, rttMs: 1, at: 0},
    {ok: false, rttMs: 0.5, error: 'status 503 (expected 200)', at: 0},
    {ok: true, rttMs: 10, at: 0},
    {ok: true, rttMs: 2, at: 0},
  ])
  assert.equal(
    [s.sent, s.received, s.lossPct, s.minMs, s.avgMs, s.medianMs, s.maxMs],
    [6, 4, 33.333, 1, 4.25, 3, 10],
  )
  assert.equal(s.errors, {'timeout after 1000 ms': 1, 'status 503 (expected 200)': 1})
  const none = summarize(t, 'udp', [{ok: false, error: 'refused', at: 0}])
  assert.equal([none.lossPct, none.minMs, none.medianMs], [100, null, null])
})

test('measure: count probes per target, paced by the interval, bounded in flight', async () => {
  const starts = new Map<string, number[]>()
  let now = 0
  let peak = 0
  const prober: Prober = {
    method: 'tcp',
    async probe(t) {
      starts.set(t.id, [...(starts.get(t.id) ?? []), performance.now()])
      peak = Math.max(peak, ++now)
      await new Promise((r) => setTimeout(r, 5))
      now--
      return t.port === 2 ? {ok: false, error: 'refused', at: Date.now()} : {ok: true, rttMs: 5, at: Date.now()}
    },
  }
  const targets = [1, 2, 3, 4].map((p) => probeTarget('127.0.60.1', p))
  const r = await measure(targets, prober, {count: 4, intervalMs: 40, maxInFlight: 2})
  assert.equal(r.map((x) => [x.port, x.sent, x.received]), [[1, 4, 4], [2, 4, 0], [3, 4, 4], [4, 4, 4]])
  assert.ok(peak <= 2, `peak in flight ${peak}`)
  for (const [id, s] of starts) for (let i = 1; i < s.length; i++) assert.ok(s[i]! - s[i - 1]! >= 39, `${id}: probes ${s[i]! - s[i - 1]!} ms apart`)
})

test('parseTarget: the accepted forms and one-line errors for the rest', () => {
  const ok: Array<[string, number, Partial<ReturnType<typeof parseTarget>>]> = [
    ['127.0.10.1', 80, {id: '127.0.10.1:80', address: '127.0.10.1', port: 80}],
    ['127.0.10.1:8080', 80, {address: '127.0.10.1', port: 8080}],
    ['::1', 53, {id: '[::1]:53', address: '::1', port: 53}],
    ['[::1]:5353', 53, {address: '::1', port: 5353}],
    ['http://127.0.10.1:8080/health?x=1', 80, {address: '127.0.10.1', port: 8080, path: '/health?x=1', host: '127.0.10.1:8080'}],
    ['https://[::1]/', 443, {address: '::1', port: 443, path: '/'}],
  ]
  for (const [spec, port, want] of ok) {
    const t = parseTarget(spec, port)
    for (const [k, v] of Object.entries(want)) assert.equal((t as any)[k], v, `${spec}: ${k}`)
  }
  for (const bad of ['www.example.com', '127.0.10.1:0', '127.0.10.1:70000', '[::1', 'http://', '']) {
    assert.throws(() => parseTarget(bad, 80), (e: Error) => e.message.startsWith(`target "${bad}": `) && !e.message.includes('\n'), bad)
  }
})

test.run()
