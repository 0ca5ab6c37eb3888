// Server selection: the infra cache's formulas, and the resolver with a silent, a slow and a fast NS on loopback.
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import dgram from 'node:dgram'
import {startServer, type DnsServer} from '../../src/dns/server.js'
import type {Handler, Request, ResponseWriter} from '../../src/dns/handler.js'
import {Rcode, RRType} from '../../src/dns/wire/constants.js'
import {InfraCache, UNKNOWN_RTT_MS} from '../../src/resolver/infra-cache.js'
import {IterativeResolver, type ResolverOptions} from '../../src/resolver/iterative-resolver.js'

const NET = 69
const SILENT = `127.${NET}.0.1`
const GOOD = `127.${NET}.0.2`
const SLOW = `127.${NET}.0.3`
const FAST = `127.${NET}.0.4`
const ZONE = 'svc.test.'
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

// ------------------------------------------------------------------------------------------ the formulas

test('RTT estimate (RFC 6298) and the adaptive timeout within its bounds; unknown servers get 376 ms', () => {
  const c = new InfraCache({now: () => 0})
  const bounds = {minMs: 200, maxMs: 1500}
  assert.is(c.timeoutFor('a', 53, bounds), UNKNOWN_RTT_MS)
  assert.is(c.timeoutFor('a', 53, {minMs: 50, maxMs: 300}), 300, 'never above max')
  c.recordReply('a', 53, 100)
  assert.equal(c.stats('a', 53), {srttMs: 100, rttvarMs: 50, repliedAt: 0, failures: 0, heldUntil: 0})
  assert.is(c.timeoutFor('a', 53, bounds), 300) // 100 + 4 x 50
  c.recordReply('a', 53, 200)
  assert.is(c.stats('a', 53)!.rttvarMs, 62.5) // 3/4 x 50 + 1/4 x |100 - 200|
  assert.is(c.stats('a', 53)!.srttMs, 112.5) // 7/8 x 100 + 1/8 x 200
  assert.is(c.timeoutFor('a', 53, bounds), 362.5)
  c.recordReply('b', 53, 0.4)
  assert.is(c.timeoutFor('b', 53, bounds), 200, 'a fast server: the minimum')
  assert.is(c.timeoutFor('a', 54, bounds), UNKNOWN_RTT_MS, 'the port is part of the key')
})

test('failures hold a server back, doubling up to the cap; a reply clears the hold and restarts the estimate', () => {
  let now = 1000
  const c = new InfraCache({now: () => now, holdMs: 5000, maxHoldMs: 30_000})
  c.recordReply('a', 53, 10)
  const held: number[] = []
  for (let i = 0; i < 5; i++) {
    c.recordFailure('a', 53)
    held.push(c.stats('a', 53)!.heldUntil - now)
  }
  assert.equal(held, [5000, 10_000, 20_000, 30_000, 30_000])
  assert.is(c.stats('a', 53)!.failures, 5)
  now += 100
  c.recordReply('a', 53, 40)
  assert.equal(c.stats('a', 53), {srttMs: 40, rttvarMs: 20, repliedAt: 1100, failures: 0, heldUntil: 0})
})

test('order: lowest score first, close scores in listed order, unknown after known, held last (soonest free first)', () => {
  let now = 0
  const c = new InfraCache({now: () => now, halfLifeMs: 60_000})
  const id = (s: string) => s
  c.recordReply('slow', 53, 80)
  c.recordReply('fast', 53, 5)
  c.recordReply('fast2', 53, 5.5) // within max(2 ms, 25 %) of fast: close
  assert.equal(c.order(['unknown', 'slow', 'fast2', 'fast'], id, 53), ['fast2', 'fast', 'slow', 'unknown'])
  c.recordFailure('fast2', 53)
  now = 1
  c.recordFailure('fast', 53)
  assert.equal(c.order(['unknown', 'slow', 'fast2', 'fast'], id, 53), ['slow', 'unknown', 'fast2', 'fast'])
  // Holds over (5 s): both are probed first; while the probes are out they count as held for everyone else.
  now = 5002
  assert.equal(c.order(['unknown', 'slow', 'fast2', 'fast'], id, 53), ['fast2', 'fast', 'slow', 'unknown'])
  assert.equal(c.order(['unknown', 'slow', 'fast2', 'fast'], id, 53), ['slow', 'unknown', 'fast2', 'fast'])
  c.recordReply('fast', 53, 5)
  assert.equal(c.order(['unknown', 'slow', 'fast2', 'fast'], id, 53), ['fast', 'slow', 'unknown', 'fast2'])
  // Decay toward zero: after long enough every known score is close, and the listed order decides.
  const d = new InfraCache({now: () => now, halfLifeMs: 60_000})
  d.recordReply('slow', 53, 80)
  d.recordReply('fast', 53, 5)
  assert.equal(d.order(['slow', 'fast'], id, 53), ['fast', 'slow'])
  now += 10 * 60_000
  assert.equal(d.order(['slow', 'fast'], id, 53), ['slow', 'fast'])
})

test('bounded: least recently used servers are forgotten', () => {
  const c = new InfraCache({maxServers: 3})
  for (const a of ['a', 'b', 'c', 'd']) c.recordReply(a, 53, 1)
  assert.is(c.size, 3)
  assert.is(c.stats('a', 53), undefined)
})

// ---------------------------------------------------------------------------------------- on the wire

/** An authoritative stand-in for ZONE: any name's A is its own address, after `delayMs`; or it drops. */
class Stub implements Handler {
  queries = 0
  delayMs = 0
  silent = false
  constructor(readonly address: string) {}

  async serveDNS(req: Request, w: ResponseWriter): Promise<void> {
    this.queries++
    if (this.silent) return w.drop()
    if (this.delayMs) await sleep(this.delayMs)
    w.reply({rcode: Rcode.NOERROR, aa: true, answer: [{name: req.query.qname, type: RRType.A, ttl: 60, data: this.address}]})
  }
}

interface Rig {
  port: number
  /** Datagrams the silent server got. */
  silentQueries(): number
  stubs: Record<'good' | 'slow' | 'fast', Stub>
  resolver(startServers: string[], infra: InfraCache, o?: Partial<ResolverOptions>): IterativeResolver
}

async function withRig(fn: (rig: Rig) => Promise<void>): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 30_000)
    const servers: DnsServer[] = []
    // A UDP socket that reads every query and never answers: a frozen DNS-LB.
    const silent = dgram.createSocket('udp4')
    let silentCount = 0
    silent.on('message', () => { silentCount++ })
    try {
      await new Promise<void>((resolve, reject) => {
        silent.once('error', reject)
        silent.bind(port, SILENT, () => resolve())
      })
      const stubs = {good: new Stub(GOOD), slow: new Stub(SLOW), fast: new Stub(FAST)}
      stubs.slow.delayMs = 60
      for (const s of Object.values(stubs)) {
        servers.push(await startServer({listen: [`${s.address}:${port}`], handler: s, onError: () => {}}))
      }
      const resolver: Rig['resolver'] = (startServers, infra, o = {}) =>
        new IterativeResolver({startServers, startZone: ZONE, port, infra, queryTimeoutMs: 1500, minQueryTimeoutMs: 200, timeLimitMs: 5000, ...o})
      await fn({port, silentQueries: () => silentCount, stubs, resolver})
      return
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 5) throw err
    } finally {
      await Promise.all(servers.map((s) => s.close()))
      try { silent.close() } catch {}
    }
  }
}

let seq = 0
/** Resolves a fresh name (each resolve() has its own record cache: only the infra cache is shared). */
async function timed(r: IterativeResolver): Promise<{ms: number; data: unknown[]; status: string}> {
  const t0 = performance.now()
  const res = await r.resolve(`n${++seq}.${ZONE}`, RRType.A)
  return {ms: performance.now() - t0, data: res.answer.map((a) => a.data), status: res.status}
}

test('a silent NS costs the first resolution one timeout; the next 20 pay none; it is probed again when its hold ends', async () => {
  await withRig(async ({silentQueries, stubs, resolver}) => {
    let clock = 0
    const infra = new InfraCache({now: () => clock, holdMs: 5000})
    const r = resolver([SILENT, GOOD], infra) // the silent one is listed first, as lb1 was in the lab
    const first = await timed(r)
    assert.equal(first.data, [GOOD])
    assert.is(silentQueries(), 1)
    // One wait of UNKNOWN_RTT_MS, not the 1500 ms longest one: the upper bound sits just under the latter.
    assert.ok(first.ms >= UNKNOWN_RTT_MS - 5 && first.ms < 1450, `first: ${first.ms} ms (one wait of ${UNKNOWN_RTT_MS} ms)`)
    for (let i = 0; i < 20; i++) assert.equal((await timed(r)).data, [GOOD])
    // No wait is paid without a query to the silent server: the count says it, the clock need not.
    assert.is(silentQueries(), 1, 'not asked again while held')
    assert.is(stubs.good.queries, 21)
    // Just before the hold ends: still skipped. Just after: asked once (a probe), then held twice as long.
    clock = 4999
    await timed(r)
    assert.is(silentQueries(), 1)
    clock = 5001
    const probe = await timed(r)
    assert.equal(probe.data, [GOOD])
    assert.is(silentQueries(), 2, 'probed once its hold ended')
    assert.is(infra.stats(SILENT, r.options.port)!.failures, 2)
    clock = 5001 + 9999
    await timed(r)
    assert.is(silentQueries(), 2, 'the second hold is 10 s')
    clock = 5001 + 10_001
    await timed(r)
    assert.is(silentQueries(), 3)
  })
})

test('a faster server is preferred over a slower one listed first; decay has the slower one measured again later', async () => {
  await withRig(async ({stubs, resolver}) => {
    let clock = 0
    const infra = new InfraCache({now: () => clock})
    // Knowing nothing, the listed order decides.
    const both = resolver([SLOW, FAST], infra)
    assert.equal((await timed(both)).data, [SLOW])
    // What one NS set learned serves another that shares a server.
    assert.equal((await timed(resolver([FAST], infra))).data, [FAST])
    const before = {slow: stubs.slow.queries, fast: stubs.fast.queries}
    for (let i = 0; i < 10; i++) assert.equal((await timed(both)).data, [FAST])
    assert.is(stubs.slow.queries, before.slow, 'the slow server was not asked')
    assert.is(stubs.fast.queries, before.fast + 10)
    assert.ok(infra.stats(SLOW, both.options.port)!.srttMs! >= 55)
    // Ten minutes later (ten half-lives) both scores are close to zero: the slow one is measured once more.
    clock = 10 * 60_000
    assert.equal((await timed(both)).data, [SLOW])
    assert.equal((await timed(both)).data, [FAST])
  })
})

test('a known-fast server that goes silent is given up after the minimum wait, not the longest', async () => {
  await withRig(async ({stubs, resolver}) => {
    const infra = new InfraCache()
    const r = resolver([FAST, GOOD], infra)
    assert.equal((await timed(r)).data, [FAST])
    stubs.fast.silent = true
    const res = await r.resolve(`gone-quiet.${ZONE}`, RRType.A)
    assert.equal(res.answer.map((a) => a.data), [GOOD])
    // The wait chosen is in the hop's note; the clock only confirms it was waited out (load can only add).
    assert.equal(res.hops.map((h) => [h.server, h.kind]), [[FAST, 'timeout'], [GOOD, 'answer']])
    assert.match(res.hops[0]!.note ?? '', /within 200 ms/)
    assert.ok(res.elapsedMs >= 195, `${res.elapsedMs} ms: waited ~200 ms (minimum)`)
    const hops = (await r.resolve(`x.${ZONE}`, RRType.A)).hops
    assert.equal(hops.map((h) => h.server), [GOOD], 'held back afterwards')
  })
})

test('when the only server misses a short wait it is asked again with the longest (slow is not dead)', async () => {
  await withRig(async ({stubs, resolver}) => {
    const infra = new InfraCache()
    const r = resolver([FAST], infra)
    await timed(r)
    stubs.fast.delayMs = 400
    const res = await r.resolve(`slow-now.${ZONE}`, RRType.A)
    assert.is(res.status, 'answer', res.failure?.message)
    assert.equal(res.hops.map((h) => [h.server, h.kind]), [[FAST, 'timeout'], [FAST, 'answer']])
    assert.match(res.hops[0]!.note ?? '', /within 200 ms/)
    assert.ok(res.elapsedMs >= 590, `${res.elapsedMs} ms`)
    // Both silent: each gets its short wait (200 ms known, 376 ms unknown), then one longest wait each.
    stubs.fast.silent = true
    const infra2 = new InfraCache()
    const r2 = resolver([FAST, SILENT], infra2, {queryTimeoutMs: 500})
    infra2.recordReply(FAST, r2.options.port, 1)
    const t0 = performance.now()
    const failed = await r2.resolve(`gone.${ZONE}`, RRType.A)
    const took = performance.now() - t0
    assert.is(failed.status, 'failed')
    assert.is(failed.failure?.kind, 'timeout')
    assert.equal(failed.hops.map((h) => [h.server, h.kind]), [[FAST, 'timeout'], [SILENT, 'timeout'], [FAST, 'timeout'], [SILENT, 'timeout']])
    assert.match(failed.failure!.message, /127\.69\.0\.4 did not answer within 500 ms; 127\.69\.0\.1 did not answer within 500 ms$/)
    // The waits are in the message above; the clock confirms they were waited out, and that the 5 s time
    // limit did not end it instead (kind 'timeout', not 'time-limit').
    assert.ok(took >= 1550 && took < 5000, `${took} ms = 200 + 376 + 500 + 500`)
  })
})

test.run()
