// DNS-LB against fixture content servers whose delays depend on the prober's source address: each DNS-LB
// answers with the server nearest to it, follows matrix changes, drops a stopped server and takes it back,
// does not flap on jitter below the hysteresis margin, explains its answer, and restarts from its measurements.
// glb-test-timeout: 180
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {startContentServers} from '../../../src/lab/content-server.js'
import type {ContentServers} from '../../../src/lab/content-server.js'
import {Rcode, RRType} from '../../../src/dns/wire/constants.js'
import {lbState, sleep, startLb, tempDir, waitFor, ZONE} from './balancer-fixture.js'
import type {RunningLb} from './balancer-fixture.js'

// Content servers S1..S3 at 127.0.40.k; DNS-LB "a" at 127.0.41.1, "b" at 127.0.42.1 (each probes from its own address).
const S1 = '127.0.40.1', S2 = '127.0.40.2', S3 = '127.0.40.3'
const LB_A = '127.0.41.1', LB_B = '127.0.42.1'
const HTTP_PORT = 28140
const INTERVAL = 200
const TIMEOUT = 150

function matrix(over: Record<string, object> = {}) {
  return {
    defaultMs: 50,
    servers: {
      [S1]: {from: {'127.0.41.0/24': 5, '127.0.42.0/24': 60}, default: 50},
      [S2]: {from: {'127.0.41.0/24': 60, '127.0.42.0/24': 5}, default: 50},
      [S3]: {from: {'127.0.41.0/24': 40, '127.0.42.0/24': 40}, default: 50},
      ...over,
    },
  }
}

function state(extra: Record<string, unknown> = {}) {
  return lbState({
    ttl: 7,
    pool: {servers: [{address: S1}, {address: S2}, {address: S3}]},
    probe: {method: 'http', port: HTTP_PORT, interval: INTERVAL, timeout: TIMEOUT},
    select: {count: 1, hysteresisMs: 2, hysteresisPct: 10, upThreshold: 2, downThreshold: 3, fallback: 'all'},
    measurements: {interval: 100_000},
    ...extra,
  })
}

async function content(m: object = matrix()): Promise<ContentServers> {
  return startContentServers({matrix: m, addresses: [S1, S2, S3], ports: {http: HTTP_PORT, udp: null, dns: null}})
}

async function apexA(lb: RunningLb): Promise<string[]> {
  const m = await lb.ask(ZONE, RRType.A)
  assert.is(m.rcode, Rcode.NOERROR)
  return m.answers.filter((r) => r.type === RRType.A).map((r) => r.data as string)
}

test('two DNS-LBs at different sources answer with the server nearest to each, over the wire', async () => {
  const tmp = tempDir()
  const cs = await content()
  const a = await startLb({address: LB_A, state: state(), stateFile: join(tmp.dir, 'a.json')})
  const b = await startLb({address: LB_B, state: state({label: 'lb2'}), stateFile: join(tmp.dir, 'b.json')})
  try {
    const settled = await waitFor(() => a.lb.answer.A.join() === S1 && b.lb.answer.A.join() === S2, 3000)
    assert.ok(settled !== null, `a=${a.lb.answer.A} b=${b.lb.answer.A}`)
    assert.equal(await apexA(a), [S1])
    assert.equal(await apexA(b), [S2])
    const m = await a.ask(ZONE, RRType.A)
    assert.is(m.answers[0]!.ttl, 7)
    assert.ok(m.header.flags & 0x0400, 'AA set')
    // The content servers saw probes from both sources: the answer is measured, not configured.
    assert.ok((cs.hits.get(S1) ?? 0) >= 2 && (cs.hits.get(S2) ?? 0) >= 2 && (cs.hits.get(S3) ?? 0) >= 2)
  } finally {
    await a.close()
    await b.close()
    await cs.close()
    tmp.done()
  }
})

test('after a matrix change the answer follows within 3 probe intervals', async () => {
  const tmp = tempDir()
  const cs = await content()
  const a = await startLb({address: LB_A, state: state(), stateFile: join(tmp.dir, 'a.json')})
  try {
    assert.ok(await waitFor(() => a.lb.answer.A.join() === S1, 3000) !== null)
    await sleep(3 * INTERVAL) // let SRTTs settle on the old figures
    await cs.setMatrix(matrix({[S1]: {from: {'127.0.41.0/24': 60}, default: 50}, [S2]: {from: {'127.0.41.0/24': 5}, default: 50}}))
    const took = await waitFor(() => a.lb.answer.A.join() === S2, 3000)
    assert.ok(took !== null, `answer stayed ${a.lb.answer.A}`)
    // One interval may pass before the first probe under the new matrix starts; RTTs add up to ~0.3 interval.
    assert.ok(took! <= 3 * INTERVAL + 100, `took ${took!.toFixed(0)} ms, more than 3 intervals of ${INTERVAL} ms`)
    assert.equal(await apexA(a), [S2])
  } finally {
    await a.close()
    await cs.close()
    tmp.done()
  }
})

test('a stopped server leaves the answer within the down threshold and comes back after recovery', async () => {
  const tmp = tempDir()
  const cs = await content()
  const a = await startLb({address: LB_A, state: state(), stateFile: join(tmp.dir, 'a.json')})
  try {
    assert.ok(await waitFor(() => a.lb.answer.A.join() === S1, 3000) !== null)
    await sleep(2 * INTERVAL)
    await cs.setMatrix(matrix({[S1]: {from: {'127.0.41.0/24': 5}, default: 50, down: true}}))
    // Three failed probes: the first starts within an interval and each fails after the timeout.
    const left = await waitFor(() => a.lb.answer.A.join() === S3, 3000)
    assert.ok(left !== null, `answer ${a.lb.answer.A}`)
    const bound = 3 * INTERVAL + TIMEOUT + 100
    assert.ok(left! <= bound, `left after ${left!.toFixed(0)} ms > ${bound}`)
    assert.is(a.lb.health.get(S1)?.up, false)
    assert.equal(await apexA(a), [S3], 'the next nearest server (40 ms) replaces it')
    await cs.setMatrix(matrix())
    // Two successes make it up again; its SRTT was kept (failures do not move it), so it wins at once.
    const back = await waitFor(() => a.lb.answer.A.join() === S1, 3000)
    assert.ok(back !== null && back <= 3 * INTERVAL + 100, `came back after ${back?.toFixed(0)} ms`)
    assert.equal(await apexA(a), [S1])
  } finally {
    await a.close()
    await cs.close()
    tmp.done()
  }
})

test('jitter smaller than the hysteresis margin causes no flap (and the same jitter without a margin does)', async () => {
  const tmp = tempDir()
  // S1 and S2 both 40-48 ms (8 ms of jitter on each, the same mean, so the margin-less control flips between them
  // whenever the noise says so), S3 far. The margin (60 ms) exceeds the jitter several times over and leaves room
  // for the host's own noise: a loaded two-core machine once delayed probes enough to beat a 20 ms margin.
  const jittery = {
    defaultMs: 50,
    servers: {
      [S1]: {from: {'127.0.41.0/24': 40, '127.0.42.0/24': 40}, jitterMs: 8},
      [S2]: {from: {'127.0.41.0/24': 40, '127.0.42.0/24': 40}, jitterMs: 8},
      [S3]: {from: {'127.0.41.0/24': 250, '127.0.42.0/24': 250}},
    },
  }
  const cs = await content(jittery)
  const probe = {method: 'http', port: HTTP_PORT, interval: 100, timeout: 300}
  const a = await startLb({address: LB_A, state: state({probe, select: {hysteresisMs: 60, hysteresisPct: 0}}), stateFile: join(tmp.dir, 'a.json')})
  // The control: same servers, same jitter, no margin at all.
  const b = await startLb({address: LB_B, state: state({label: 'lb2', probe, select: {hysteresisMs: 0, hysteresisPct: 0}}), stateFile: join(tmp.dir, 'b.json')})
  try {
    assert.ok(await waitFor(() => a.lb.answer.A.length === 1 && [S1, S2].includes(a.lb.answer.A[0]!), 3000) !== null)
    await sleep(500)
    const aBefore = a.changes.length, bBefore = b.changes.length
    const samplesBefore = a.lb.stats.samples
    await sleep(5000)
    const rounds = Math.floor((a.lb.stats.samples - samplesBefore) / 3)
    assert.ok(rounds >= 30, `only ${rounds} probe rounds`)
    assert.is(a.changes.length - aBefore, 0, `with a 60 ms margin the answer changed ${a.changes.length - aBefore} times in ${rounds} rounds`)
    assert.ok(b.changes.length - bBefore >= 1, `the control (no margin) never flapped in ${rounds} rounds: the test could not have failed`)
  } finally {
    await a.close()
    await b.close()
    await cs.close()
    tmp.done()
  }
})

test('the explain TXT shows the answer, the policy and each server\'s figures; other clients are REFUSED', async () => {
  const tmp = tempDir()
  const cs = await content()
  const a = await startLb({address: LB_A, state: state({explain: {allow: ['127.0.41.0/24']}}), stateFile: join(tmp.dir, 'a.json')})
  try {
    assert.ok(await waitFor(() => a.lb.answer.A.join() === S1, 3000) !== null)
    await sleep(3 * INTERVAL)
    const m = await a.ask(`_explain.${ZONE}`, RRType.TXT, {source: '127.0.41.9'})
    assert.is(m.rcode, Rcode.NOERROR)
    const txt = m.answers[0]!.data as string[]
    assert.is(m.answers[0]!.ttl, 0)
    assert.match(txt[0]!, new RegExp(`^answer=${S1.replace(/\./g, '\\.')} policy=lowest-score ttl=7 `))
    assert.match(txt[0]!, /phase=measured/)
    const line = (addr: string) => txt.find((s) => s.startsWith(addr + ' '))!
    const srtt = (addr: string) => Number(/srtt=([\d.]+)ms/.exec(line(addr))![1])
    assert.match(line(S1), /^127\.0\.40\.1 srtt=[\d.]+ms spread=[\d.]+ms loss=0% up score=[\d.]+ chosen \(/)
    assert.match(line(S2), / not-chosen /)
    // The figures are the measured ones: the matrix's 5 / 60 / 40 ms plus loopback overhead.
    assert.ok(srtt(S1) >= 4 && srtt(S1) < 15, `S1 srtt ${srtt(S1)}`)
    assert.ok(srtt(S2) >= 55 && srtt(S2) < 75, `S2 srtt ${srtt(S2)}`)
    assert.ok(srtt(S3) >= 35 && srtt(S3) < 55, `S3 srtt ${srtt(S3)}`)
    const refused = await a.ask(`_explain.${ZONE}`, RRType.TXT, {source: '127.0.0.1'})
    assert.is(refused.rcode, Rcode.REFUSED)
    assert.is(refused.answers.length, 0)
  } finally {
    await a.close()
    await cs.close()
    tmp.done()
  }
})

test('a restart starts from the persisted measurements (a fresh start answers the whole pool)', async () => {
  const tmp = tempDir()
  const cs = await content()
  const stateFile = join(tmp.dir, 'lb1.json')
  const st = state({measurements: {interval: 150}})
  let a = await startLb({address: LB_A, state: st, stateFile})
  try {
    // Before any probe result, a fresh DNS-LB answers the whole pool, never "all down".
    assert.equal(a.lb.answer.A, [S1, S2, S3])
    assert.ok(await waitFor(() => a.lb.answer.A.join() === S1, 3000) !== null)
    await sleep(400) // at least one interval write
    const file = join(tmp.dir, 'lb1.measurements.json')
    assert.ok(existsSync(file), 'measurements written beside the state file')
    const saved = JSON.parse(readFileSync(file, 'utf8'))
    assert.is(saved.format, 'glb-lb-measurements/1')
    assert.is(saved.source, LB_A)
    assert.equal(saved.answer.A, [S1])
    assert.ok(saved.servers[S1].srttMs < 15 && saved.servers[S2].srttMs > 50, JSON.stringify(saved.servers))
    await a.close()
    // Restart without probing: the first answer comes from the file alone.
    a = await startLb({address: LB_A, state: st, stateFile, start: false})
    assert.equal(a.lb.answer.A, [S1])
    assert.equal(await apexA(a), [S1])
    const txt = (await a.ask(`_explain.${ZONE}`, RRType.TXT)).answers[0]!.data as string[]
    assert.match(txt[0]!, /phase=measured/)
    await a.close()
    // Measurements taken from another source are another vantage point: not used.
    a = await startLb({address: LB_A, state: state({measurements: {interval: 150}, probe: {method: 'http', port: HTTP_PORT, interval: INTERVAL, timeout: TIMEOUT, source: '127.0.41.2'}}), stateFile, start: false})
    assert.equal(a.lb.answer.A, [S1, S2, S3])
  } finally {
    await a.close()
    await cs.close()
    tmp.done()
  }
})

test('answers are rebuilt only when the choice changes, not on every sample', async () => {
  const tmp = tempDir()
  const cs = await content()
  const a = await startLb({address: LB_A, state: state({probe: {method: 'http', port: HTTP_PORT, interval: 50, timeout: 40}}), stateFile: join(tmp.dir, 'a.json')})
  try {
    assert.ok(await waitFor(() => a.lb.answer.A.join() === S1, 3000) !== null)
    await sleep(200)
    const set = a.lb.handler.current
    const s0 = a.lb.stats.samples
    await sleep(1000)
    assert.ok(a.lb.stats.samples - s0 >= 30, `${a.lb.stats.samples - s0} samples`)
    assert.ok(a.lb.handler.current === set, 'the prepared answers were replaced without a change of choice')
  } finally {
    await a.close()
    await cs.close()
    tmp.done()
  }
})

test.run()
