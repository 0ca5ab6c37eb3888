// The scheduler's promises: one in flight per target, maxInFlight overall, removal is immediate, bugs are
// reported and do not stop a target, the interval holds, and 10,000 targets are cheap.
// glb-test-timeout: 180
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {startContentServers} from '../../src/lab/content-server.js'
import {probeTarget} from '../../src/probe/prober.js'
import type {CallbackProber, ProbeTarget, Prober, Sample} from '../../src/probe/prober.js'
import {ProbeScheduler} from '../../src/probe/scheduler.js'
import {UdpProber} from '../../src/probe/udp.js'

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** A prober that takes `ms` and counts how many probes run at once, overall and per target. */
function slowProber(ms: number | ((t: ProbeTarget) => number)) {
  const state = {now: 0, max: 0, perTarget: new Map<string, number>(), maxPerTarget: 0, starts: new Map<string, number[]>()}
  const prober: Prober = {
    method: 'tcp',
    async probe(t, signal) {
      state.now++
      state.max = Math.max(state.max, state.now)
      const n = (state.perTarget.get(t.id) ?? 0) + 1
      state.perTarget.set(t.id, n)
      state.maxPerTarget = Math.max(state.maxPerTarget, n)
      const list = state.starts.get(t.id) ?? []
      list.push(performance.now())
      state.starts.set(t.id, list)
      try {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, typeof ms === 'number' ? ms : ms(t))
          signal?.addEventListener('abort', () => (clearTimeout(timer), resolve()), {once: true})
        })
        return {ok: true, rttMs: 1, at: Date.now()}
      } finally {
        state.now--
        state.perTarget.set(t.id, state.perTarget.get(t.id)! - 1)
      }
    },
  }
  return {prober, state}
}

const targets = (n: number): ProbeTarget[] => Array.from({length: n}, (_, i) => probeTarget(`127.0.40.${1 + (i % 250)}`, 1000 + i))

test('never more than one probe in flight per target, even when probes outlast the interval', async () => {
  const {prober, state} = slowProber(60)
  const got: string[] = []
  const s = new ProbeScheduler({prober, intervalMs: 20, firstProbe: 'now', sink: (t) => got.push(t.id)})
  for (const t of targets(3)) s.add(t)
  s.start()
  await sleep(400)
  await s.stop()
  assert.is(state.maxPerTarget, 1)
  assert.ok(got.length >= 3 * 5, `probes kept coming back to back: ${got.length}`)
})

test('never more than maxInFlight overall, and every target still gets its turn', async () => {
  const {prober, state} = slowProber(15)
  const seen = new Map<string, number>()
  const s = new ProbeScheduler({prober, intervalMs: 50, maxInFlight: 5, firstProbe: 'now', sink: (t) => seen.set(t.id, (seen.get(t.id) ?? 0) + 1)})
  for (const t of targets(40)) s.add(t)
  s.start()
  await sleep(600)
  await s.stop()
  assert.is(state.max, 5, `peak in flight ${state.max}`)
  assert.ok(s.stats.maxInFlightSeen <= 5)
  assert.is(seen.size, 40, 'no target starved')
})

test('each target is probed once per interval, within the jitter', async () => {
  const {prober, state} = slowProber(1)
  const s = new ProbeScheduler({prober, intervalMs: 100, jitter: 0.1, sink: () => {}})
  for (const t of targets(5)) s.add(t)
  s.start()
  await sleep(1250)
  await s.stop()
  for (const [id, starts] of state.starts) {
    assert.ok(starts.length >= 10 && starts.length <= 13, `${id}: ${starts.length} probes in 1.25 s at 100 ms`)
    for (let i = 1; i < starts.length; i++) {
      const gap = starts[i]! - starts[i - 1]!
      assert.ok(gap >= 89 && gap <= 125, `${id}: gap ${gap.toFixed(1)} ms outside 100 ms ±10 % (+ timer slack)`)
    }
  }
})

test('a removed target stops at once: its in-flight result is discarded and it is never probed again', async () => {
  const {prober, state} = slowProber(80)
  const got: string[] = []
  const s = new ProbeScheduler({prober, intervalMs: 30, firstProbe: 'now', sink: (t) => got.push(t.id)})
  const [a, b] = targets(2)
  s.add(a!)
  s.add(b!)
  s.start()
  await sleep(20) // both in flight
  assert.ok(s.remove(a!.id))
  assert.is(s.has(a!.id), false)
  const startsAtRemoval = state.starts.get(a!.id)!.length
  await sleep(300)
  await s.stop()
  assert.ok(!got.includes(a!.id), 'no sample of the removed target reached the sink')
  assert.is(state.starts.get(a!.id)!.length, startsAtRemoval, 'no probe started after removal')
  assert.ok(got.filter((x) => x === b!.id).length >= 2, 'the other target went on')
  assert.ok(s.stats.discarded >= 1)
})

test('replacing a target (same id) never puts two of its probes in flight; the old result is discarded', async () => {
  const {prober, state} = slowProber((t) => (t.host === 'old' ? 100 : 5))
  const got: Array<string | undefined> = []
  const s = new ProbeScheduler({prober, intervalMs: 20, firstProbe: 'now', sink: (t) => got.push(t.host)})
  const t = probeTarget('127.0.40.1', 80)
  s.add({...t, host: 'old'})
  s.start()
  await sleep(10)
  s.add({...t, host: 'new'})
  await sleep(200)
  await s.stop()
  assert.is(state.maxPerTarget, 1)
  assert.ok(!got.includes('old'), 'the replaced entry delivered nothing')
  assert.ok(got.includes('new'))
})

test('a prober that throws (sync or async) is reported and its target keeps being scheduled', async () => {
  let calls = 0
  const prober: Prober = {
    method: 'tcp',
    probe(t) {
      calls++
      if (t.port === 1) throw new Error('sync bug')
      if (t.port === 2) return Promise.reject(new TypeError('async bug'))
      return Promise.resolve({ok: true, rttMs: 1, at: Date.now()})
    },
  }
  const errors: Array<[number, string, string]> = []
  const samples: number[] = []
  const s = new ProbeScheduler({
    prober, intervalMs: 20, firstProbe: 'now',
    sink: (t) => samples.push(t.port),
    onError: (t, err, where) => errors.push([t.port, err.message, where]),
  })
  for (const port of [1, 2, 3]) s.add(probeTarget('127.0.40.1', port))
  s.start()
  await sleep(200)
  await s.stop()
  const sync = errors.filter(([p]) => p === 1)
  const async = errors.filter(([p]) => p === 2)
  assert.ok(sync.length >= 5, `sync thrower reported ${sync.length} times`)
  assert.ok(async.length >= 5, `async thrower reported ${async.length} times`)
  assert.equal(sync[0]!.slice(1), ['sync bug', 'prober'])
  assert.ok(!samples.includes(1) && !samples.includes(2), 'a bug is not a measurement')
  assert.ok(samples.filter((p) => p === 3).length >= 5, 'the healthy target went on')
  assert.ok(calls > 15)
})

/** Probes one target every 20 ms (stuck after 50 ms) for `ms`; returns what onError got, as "where: message". */
async function errorsOfOne(prober: Prober, ms: number): Promise<string[]> {
  const errors: string[] = []
  const s = new ProbeScheduler({prober, intervalMs: 20, stuckAfterMs: 50, firstProbe: 'now', sink: () => {}, onError: (_t, e, where) => errors.push(`${where}: ${e.message}`)})
  s.add(probeTarget('127.0.40.1', 7))
  s.start()
  await sleep(ms)
  await s.stop()
  return errors
}

test('a prober that never settles is reported as stuck and the target is probed again', async () => {
  const starts: number[] = []
  const prober: Prober = {method: 'udp', probe: () => (starts.push(performance.now()), new Promise<Sample>(() => {}))}
  const errors = await errorsOfOne(prober, 300)
  assert.ok(errors.length >= 3, `stuck reports: ${errors.length}`)
  assert.match(errors[0]!, /did not settle within 50 ms/)
  assert.ok(starts.length >= 3)
})

test('a sink that throws is reported and does not stop the scheduler', async () => {
  const {prober} = slowProber(1)
  let n = 0
  const errors: string[] = []
  const s = new ProbeScheduler({prober, intervalMs: 20, firstProbe: 'now', sink: () => { n++; throw new Error('sink bug') }, onError: (_t, e, where) => errors.push(`${where}: ${e.message}`)})
  s.add(probeTarget('127.0.40.1', 7))
  s.start()
  await sleep(150)
  await s.stop()
  assert.ok(n >= 4, `sink called ${n} times`)
  assert.is(errors[0], 'sink: sink bug')
})

test('real probers: samples reach the sink from the configured source address', async () => {
  const cs = await startContentServers({
    matrix: {servers: {'127.0.41.1': {from: {'127.0.42.1': 30}, default: 2}}},
    ports: {http: 0, udp: 0, dns: 0},
  })
  const s = new ProbeScheduler({prober: new UdpProber({timeoutMs: 500}), intervalMs: 50, firstProbe: 'now', localAddress: '127.0.42.1', sink: (_t, x) => got.push(x)})
  const got: Sample[] = []
  try {
    s.add(probeTarget('127.0.41.1', cs.listeners[0]!.udp!))
    s.start()
    await sleep(330)
  } finally {
    await s.stop()
    await cs.close()
  }
  assert.ok(got.length >= 4, `samples: ${got.length}`)
  for (const x of got) assert.ok(x.ok && x.rttMs! >= 29 && x.rttMs! < 45, JSON.stringify(x))
})

/** A callback prober (the fast path): answers after `ms` (0: before start returns, -1: never) and logs cancels. */
function callbackProber(ms: number | ((t: ProbeTarget) => number)) {
  const log = {starts: 0, cancels: 0, live: 0, maxLive: 0}
  const prober: CallbackProber = {
    method: 'tcp',
    probe: () => Promise.reject(new Error('the scheduler must use start()')),
    start(t, done) {
      log.starts++
      const wait = typeof ms === 'number' ? ms : ms(t)
      if (wait === 0) {
        done({ok: true, rttMs: 0, at: Date.now()})
        return {cancel: () => void log.cancels++}
      }
      log.live++
      log.maxLive = Math.max(log.maxLive, log.live)
      const timer = wait > 0 ? setTimeout(() => (log.live--, done({ok: true, rttMs: wait, at: Date.now()})), wait) : undefined
      return {cancel: () => (clearTimeout(timer), log.live--, log.cancels++)}
    },
  }
  return {prober, log}
}

test('callback probers: removal and stop cancel the probe in flight at once; nothing reaches the sink after', async () => {
  const {prober, log} = callbackProber(1000)
  const got: string[] = []
  const s = new ProbeScheduler({prober, intervalMs: 50, firstProbe: 'now', sink: (t) => got.push(t.id)})
  const [a, b, c] = targets(3)
  for (const t of [a!, b!, c!]) s.add(t)
  s.start()
  await sleep(10)
  assert.is(s.inFlight, 3)
  s.remove(a!.id)
  assert.equal([log.cancels, s.inFlight, log.live], [1, 2, 2], 'removal cancels at once')
  s.add({...b!, host: 'replaced'})
  assert.is(log.cancels, 2, 'replacing cancels the old probe')
  const t0 = performance.now()
  await s.stop()
  assert.ok(performance.now() - t0 < 50, 'stop did not wait for the 1 s probes')
  assert.equal([log.live, s.inFlight, got.length, log.cancels], [0, 0, 0, 3])
  assert.is(s.stats.discarded, 3, 'a, the replaced b and c (the new b had not started)')
})

test('callback probers: a probe that ends before start returns frees its slot without recursion', async () => {
  const {prober, log} = callbackProber(0)
  const seen = new Set<string>()
  const s = new ProbeScheduler({prober, intervalMs: 60_000, maxInFlight: 1, firstProbe: 'now', sink: (t) => seen.add(t.id)})
  const N = 20_000
  for (let i = 0; i < N; i++) s.add(probeTarget(`127.${1 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`, 80))
  s.start()
  await sleep(200)
  await s.stop()
  assert.is(seen.size, N, 'every target probed once, one at a time, no stack overflow')
  assert.is(log.starts, N)
})

test('callback probers: a throwing start is a prober bug; a probe that never ends is stuck and cancelled', async () => {
  const thrower: CallbackProber = {
    method: 'tcp',
    probe: () => Promise.reject(new Error('unused')),
    start: () => {
      throw new Error('start bug')
    },
  }
  const errors = await errorsOfOne(thrower, 120)
  assert.ok(errors.length >= 3 && errors.every((x) => x === 'prober: start bug'), errors.join(', '))

  const {prober, log} = callbackProber(-1)
  const stuck = await errorsOfOne(prober, 230)
  assert.ok(stuck.length >= 3, `stuck reports: ${stuck.length}`)
  assert.match(stuck[0]!, /did not settle within 50 ms/)
  assert.is(log.live, 0, 'each stuck probe was cancelled')
  assert.ok(log.starts >= 3)
})

test('10,000 targets: every one probed each interval, one timer, low CPU', async () => {
  const N = 10_000
  const interval = 2_000 // five times the load of the 10 s production interval, to keep the test short
  const counts = new Map<string, number>()
  const prober: Prober = {method: 'tcp', probe: () => new Promise((r) => setTimeout(() => r({ok: true, rttMs: 3, at: Date.now()}), 3))}
  const s = new ProbeScheduler({prober, intervalMs: interval, maxInFlight: 1000, sink: (t) => counts.set(t.id, (counts.get(t.id) ?? 0) + 1)})
  for (let i = 0; i < N; i++) s.add(probeTarget(`127.${1 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`, 80))
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  s.start()
  await sleep(2 * interval + 300)
  await s.stop()
  const wall = performance.now() - t0
  const cpu = process.cpuUsage(cpu0)
  const cpuMs = (cpu.user + cpu.system) / 1000
  const perTarget = [...counts.values()]
  const min = Math.min(...perTarget)
  const max = Math.max(...perTarget)
  console.log(`  10k targets @ ${interval} ms: ${s.stats.completed} probes in ${wall.toFixed(0)} ms wall, ${cpuMs.toFixed(0)} ms CPU (${((100 * cpuMs) / wall).toFixed(1)} %), per target ${min}-${max}`)
  assert.is(counts.size, N, 'every target probed')
  assert.ok(min >= 2 && max <= 3, `per-target probes ${min}-${max} in ~2.15 intervals`)
  // The fake prober's own timers dominate; the budget says the scheduler adds little on top.
  assert.ok(cpuMs / wall < 0.5, `CPU ${cpuMs.toFixed(0)} ms over ${wall.toFixed(0)} ms`)
})

test.run()
