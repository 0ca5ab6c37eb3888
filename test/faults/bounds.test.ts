// Bounds: TCP connections per client and in total, a sender trickling a message byte by byte, the resolver's
// cache size and queries per resolution, and probes in flight. Each must hold under pressure, not just exist.
// glb-test-timeout: 120
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import net from 'node:net'
import {buildQuery, exchange} from '../../src/dns/client.js'
import type {Handler} from '../../src/dns/handler.js'
import {Rcode, RRType} from '../../src/dns/wire/constants.js'
import {holdSilentTcpPort} from '../../src/lab/silent-tcp-listener.js'
import {createProber} from '../../src/probe/create-prober.js'
import {probeTarget} from '../../src/probe/prober.js'
import {ProbeScheduler} from '../../src/probe/scheduler.js'
import {IterativeResolver} from '../../src/resolver/iterative-resolver.js'
import {ResolverCache} from '../../src/resolver/resolver-cache.js'
import {RecursiveHandler} from '../../src/roles/recursive/recursive-handler.js'
import {startServer} from '../../src/dns/server.js'
import {runLocalServer} from '../helpers/servers.js'
import {labAddresses, startTestbed} from '../resolver/gslb-testbed.js'

const NET = 95
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Waits until `cond` holds; fails after 10 s (a busy machine makes the server slower, not different). */
async function until(cond: () => boolean, what: string): Promise<void> {
  const end = performance.now() + 10_000
  while (!cond()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`)
    await sleep(10)
  }
}
const ok: Handler = {serveDNS: (req, w) => w.reply({rcode: Rcode.NOERROR, aa: true, answer: [{name: req.query.qname, type: RRType.A, ttl: 1, data: '192.0.2.1'}]})}

/** Opens a connection from `source`; resolves with the socket and a promise of when the server closed it. */
async function connect(port: number, host: string, source: string): Promise<{sock: net.Socket; closed: Promise<number>}> {
  const sock = net.connect({host, port, localAddress: source})
  sock.on('error', () => {})
  const closed = new Promise<number>((r) => sock.once('close', () => r(performance.now())))
  await new Promise<void>((resolve, reject) => { sock.once('connect', () => resolve()); sock.once('close', () => reject(new Error('closed before connect'))) })
  return {sock, closed}
}

test('TCP: per-client and total connection bounds each hold; others (and UDP) are still served', async () => {
  const s = await runLocalServer(ok, {address: `127.${NET}.0.1`, maxTcpPerClient: 3, maxTcpConnections: 5})
  const socks: net.Socket[] = []
  try {
    const mine = await Promise.all(Array.from({length: 6}, () => connect(s.port, s.address, `127.${NET}.1.1`)))
    socks.push(...mine.map((m) => m.sock))
    const closed = () => mine.filter((m) => m.sock.destroyed || m.sock.readyState !== 'open').length
    await until(() => closed() >= 3, 'the connections over the per-client bound to be closed')
    await sleep(200) // and no more than those
    assert.is(closed(), 3, 'one client keeps 3 of its 6 connections')
    const others = await Promise.all(Array.from({length: 4}, (_, i) => connect(s.port, s.address, `127.${NET}.2.${i + 1}`)))
    socks.push(...others.map((m) => m.sock))
    await until(() => s.server.stats.tcpOpen <= 5, 'the connections over the total bound to be closed')
    await sleep(200)
    assert.is(s.server.stats.tcpOpen, 5, 'the total bound holds')
    const r = await exchange(s.address, buildQuery('x.test', RRType.A), {port: s.port, source: `127.${NET}.3.1`})
    assert.is(r.message.rcode, 0, 'UDP is served while TCP is full')
  } finally {
    for (const x of socks) x.destroy()
    await s.close()
  }
})

test('TCP: a sender trickling one byte every 100 ms never completes a message and is cut at tcpSlowMs, not idle', async () => {
  const s = await runLocalServer(ok, {address: `127.${NET}.0.2`, tcpSlowMs: 600, tcpIdleMs: 10_000})
  try {
    const c = await connect(s.port, s.address, `127.${NET}.1.2`)
    const q = buildQuery('trickle.test', RRType.A)
    const frame = Buffer.concat([Buffer.from([0, q.length]), q])
    const t0 = performance.now()
    let i = 0
    const timer = setInterval(() => { if (i < frame.length && !c.sock.destroyed) c.sock.write(frame.subarray(i, ++i)) }, 100)
    const at = await Promise.race([c.closed, sleep(9000).then(() => -1)])
    clearInterval(timer)
    c.sock.destroy()
    assert.ok(at > 0, 'the trickler is disconnected')
    console.log(`    trickling sender cut after ${(at - t0).toFixed(0)} ms (${i} of ${frame.length} octets sent)`)
    // tcpSlowMs is 600 ms and the idle bound 10 s: under 5 s is the slow-sender bound, with room for load.
    assert.ok(at - t0 < 5000, `cut at the slow-sender bound (${(at - t0).toFixed(0)} ms), not at the idle one`)
  } finally {
    await s.close()
  }
})

test('resolver: the cache never holds more than maxEntries; one resolution never sends more than maxQueries', async () => {
  const tb = await startTestbed({net: NET})
  const ad = labAddresses(NET)
  const isp = new RecursiveHandler({resolver: {startServers: [tb.root], port: tb.port, source: ad.isp(1), queryTimeoutMs: 300, timeLimitMs: 2000}, allow: ['127.0.0.0/8'], cache: {maxEntries: 50}})
  const server = await startServer({listen: [{address: ad.isp(1), port: 0}], handler: isp, onError: () => {}})
  try {
    const port = server.addresses[0]!.port
    for (let i = 0; i < 300; i++) await exchange(ad.isp(1), buildQuery(`n${i}.example.test.`, RRType.A, {rd: true}), {port, timeoutMs: 3000})
    console.log(`    300 distinct names with maxEntries 50: cache holds ${isp.cacheSize}`)
    assert.ok(isp.cacheSize <= 50, `cache ${isp.cacheSize}`)
    // A resolution that needs more than maxQueries stops with query-limit (a silent DNS-LB pair needs many).
    const silent = await startTestbed({net: NET + 1, lbModes: {lb1: 'silent', lb2: 'silent'}})
    try {
      const r = new IterativeResolver({startServers: [silent.root], port: silent.port, source: labAddresses(NET + 1).isp(1), queryTimeoutMs: 50, timeLimitMs: 5000, maxQueries: 3, cache: new ResolverCache()})
      const res = await r.resolve('www.glb.example.test.', RRType.A)
      assert.is(res.status, 'failed')
      assert.is(res.failure?.kind, 'query-limit')
      assert.ok(res.queries <= 3, `${res.queries} queries`)
    } finally {
      await silent.stop()
    }
  } finally {
    await server.close()
    await tb.stop()
  }
})

test('probes: at most maxInFlight at once, however many targets hang', async () => {
  const held = await holdSilentTcpPort(`127.${NET}.10.1`, 0)
  const scheduler = new ProbeScheduler({prober: createProber('tcp', {timeoutMs: 400}), intervalMs: 200, maxInFlight: 8, firstProbe: 'now', sink: () => {}})
  try {
    for (let i = 0; i < 40; i++) scheduler.add(probeTarget(`127.${NET}.10.1`, held.port, {id: `t${i}`}))
    scheduler.start()
    // Slots are freed by the 400 ms timeout: three rounds of 8 means each slot was freed and reused.
    await until(() => scheduler.stats.completed >= 24, 'three rounds of timeouts')
    console.log(`    40 hanging targets, maxInFlight 8: at most ${scheduler.stats.maxInFlightSeen} in flight, ${scheduler.stats.completed} done`)
    assert.ok(scheduler.stats.maxInFlightSeen <= 8)
  } finally {
    await scheduler.stop()
    await held.close()
  }
})

test.run()
