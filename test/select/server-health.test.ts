// ServerHealth: the RFC 6298 smoothing, the loss window, up/down thresholds and change reporting.
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {ServerHealth} from '../../src/select/server-health.js'

const ok = (rttMs: number, at = 0) => ({ok: true, rttMs, at})
const fail = (error = 'timeout after 1000 ms', at = 0) => ({ok: false, error, at})

test('SRTT and RTTVAR follow RFC 6298 (α = 1/8, β = 1/4)', () => {
  const cases: Array<[number[], number, number]> = [
    // samples, SRTT, RTTVAR
    [[100], 100, 50],
    [[100, 200], 112.5, 62.5], // RTTVAR = .75·50 + .25·|100-200|; SRTT = .875·100 + .125·200
    [[100, 100, 100, 100], 100, 50 * 0.75 ** 3],
    [[10, 10, 50], 15, 3.75 * 0.75 + 0.25 * 40], // 2nd: RTTVAR 3.75; 3rd: .75·3.75 + .25·40, SRTT 10+5
  ]
  for (const [rtts, srtt, rttvar] of cases) {
    const h = new ServerHealth()
    for (const r of rtts) h.ingest(ok(r))
    assert.ok(Math.abs(h.srttMs! - srtt) < 1e-9, `${rtts}: SRTT ${h.srttMs} != ${srtt}`)
    assert.ok(Math.abs(h.rttvarMs! - rttvar) < 1e-9, `${rtts}: RTTVAR ${h.rttvarMs} != ${rttvar}`)
    assert.is(h.lastRttMs, rtts.at(-1))
  }
})

test('failures never move SRTT; a failed reply with an RTT is loss, not latency', () => {
  const h = new ServerHealth()
  h.ingest(ok(40))
  h.ingest({ok: false, rttMs: 1, error: 'status 503 (expected 200)', at: 0})
  h.ingest(fail())
  assert.is(h.srttMs, 40)
  assert.is(h.lastRttMs, 40)
  assert.is(h.lastError, 'timeout after 1000 ms')
})

test('loss is the failed fraction of the last N samples', () => {
  const h = new ServerHealth({lossWindow: 4})
  assert.is(h.loss, null)
  for (const s of [fail(), fail(), ok(1), ok(1)]) h.ingest(s)
  assert.is(h.loss, 0.5)
  h.ingest(ok(1))
  h.ingest(ok(1))
  assert.is(h.loss, 0, 'old failures slid out of the window')
})

test('availability: down after downAfter consecutive failures, up after upAfter consecutive successes', () => {
  // [downAfter, upAfter, sequence ('1' ok, '0' fail), expected up after each sample ('u' up, 'd' down, '?' unknown)]
  const cases: Array<[number, number, string, string]> = [
    [3, 2, '1000', 'uuud'],
    [3, 2, '10010001', 'uuuuuudd'], // a success resets the failure streak
    [3, 2, '10001011', 'uuudddd' + 'u'], // one success while down is not enough; two in a row are
    [1, 1, '1010', 'udud'],
    [2, 3, '000111', '?dddd' + 'u'], // fresh: unknown until downAfter failures
    [3, 2, '01', '?u'], // fresh: the first success is enough
  ]
  for (const [downAfter, upAfter, seq, want] of cases) {
    const h = new ServerHealth({downAfter, upAfter})
    let got = ''
    for (const c of seq) {
      h.ingest(c === '1' ? ok(5) : fail())
      got += h.up === null ? '?' : h.up ? 'u' : 'd'
    }
    assert.is(got, want, `downAfter ${downAfter}, upAfter ${upAfter}, samples ${seq}`)
  }
})

test('ingest reports changes that matter: verdicts, first RTT, drift past the threshold (even slow drift)', () => {
  const h = new ServerHealth({changeMs: 1, changeRelative: 0.05, downAfter: 2})
  assert.is(h.ingest(ok(20)), true, 'first measurement')
  assert.is(h.ingest(ok(20)), false, 'nothing moved')
  assert.is(h.ingest(ok(21)), false, 'SRTT moved 0.125 ms')
  // Slow drift: each step is small, but the total since the last report passes the threshold.
  let reported = false
  for (let i = 0; i < 20 && !reported; i++) reported = h.ingest(ok(30))
  assert.ok(reported, 'drift adds up to a change')
  assert.is(h.ingest(fail()), true, 'loss moved by a tenth')
  assert.is(h.ingest(fail()), true, 'went down')
})

test('toJSON / fromJSON round-trips and smoothing continues from the restored state', () => {
  const a = new ServerHealth()
  for (const s of [ok(10), ok(30), fail(), ok(20)]) a.ingest(s)
  const b = ServerHealth.fromJSON(JSON.parse(JSON.stringify(a.toJSON())))
  assert.equal(b.toJSON(), a.toJSON())
  a.ingest(ok(50))
  b.ingest(ok(50))
  assert.equal(b.toJSON(), a.toJSON())
})

test.run()
