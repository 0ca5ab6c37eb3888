// Content servers that misbehave: one accepts TCP and never answers, one answers too slowly, one answers 503,
// one drops SYNs. Each is judged as its probe method defines (http: timeout/status failures; tcp: a handshake
// is success) without delaying the probes of the healthy server, and the DNS-LB answers with the healthy one.
// glb-test-timeout: 120
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import http from 'node:http'
import net from 'node:net'
import {join} from 'node:path'
import {buildQuery, exchange} from '../../src/dns/client.js'
import {startServer} from '../../src/dns/server.js'
import {RRType} from '../../src/dns/wire/constants.js'
import {holdSilentTcpPort, type SilentTcpListener} from '../../src/lab/silent-tcp-listener.js'
import {createProber} from '../../src/probe/create-prober.js'
import {probeTarget, type Sample} from '../../src/probe/prober.js'
import {ProbeScheduler} from '../../src/probe/scheduler.js'
import {DnsLoadBalancer} from '../../src/roles/balancer/dns-load-balancer.js'
import {lbState, tempDir, ZONE} from '../roles/balancer/balancer-fixture.js'
import {freePort} from '../helpers/servers.js'

const GOOD = '127.86.10.1'
const MUTE = '127.86.10.2' // accepts TCP, never answers
const SLOW = '127.86.10.3' // answers after 1.5 s, past the 300 ms timeout
const ERROR = '127.86.10.4' // answers 503 at once
const DROP = '127.86.10.5' // SYNs dropped (a host that is down)
const INTERVAL = 200
const TIMEOUT = 300

interface Rig { port: number; close(): Promise<void> }

async function contentServers(): Promise<Rig> {
  const port = await freePort(GOOD)
  const closers: (() => Promise<void>)[] = []
  const httpServer = async (address: string, handler: http.RequestListener) => {
    const s = http.createServer(handler)
    await new Promise<void>((r) => s.listen(port, address, () => r()))
    closers.push(() => new Promise<void>((r) => { s.close(() => r()); s.closeAllConnections() }))
  }
  await httpServer(GOOD, (_req, res) => res.end('ok'))
  await httpServer(SLOW, (_req, res) => { const t = setTimeout(() => res.end('late'), 1500); res.on('close', () => clearTimeout(t)) })
  await httpServer(ERROR, (_req, res) => { res.statusCode = 503; res.end('busy') })
  const held = new Set<net.Socket>()
  const mute = net.createServer((sock) => { held.add(sock); sock.on('close', () => held.delete(sock)); sock.on('error', () => {}) })
  await new Promise<void>((r) => mute.listen(port, MUTE, () => r()))
  closers.push(() => new Promise<void>((r) => { for (const s of held) s.destroy(); mute.close(() => r()) }))
  const drop: SilentTcpListener = await holdSilentTcpPort(DROP, port)
  closers.push(() => drop.close())
  return {port, close: async () => { await Promise.all(closers.map((c) => c())) }}
}

test('http probes: mute, slow and 503 servers fail as defined; the healthy server is probed on time throughout', async () => {
  const rig = await contentServers()
  const samples = new Map<string, Sample[]>()
  const scheduler = new ProbeScheduler({
    prober: createProber('http', {timeoutMs: TIMEOUT}), intervalMs: INTERVAL, firstProbe: 'now',
    sink: (t, s) => { const l = samples.get(t.address) ?? []; l.push(s); samples.set(t.address, l) },
  })
  try {
    for (const a of [GOOD, MUTE, SLOW, ERROR, DROP]) scheduler.add(probeTarget(a, rig.port))
    scheduler.start()
    await new Promise((r) => setTimeout(r, 3000))
    const good = samples.get(GOOD) ?? []
    const gaps = good.slice(1).map((s, i) => s.at - good[i]!.at)
    console.log(`    healthy: ${good.length} samples in 3 s, largest gap ${Math.max(...gaps)} ms; ` +
      [MUTE, SLOW, ERROR, DROP].map((a) => `${a}: ${(samples.get(a) ?? []).length} x "${samples.get(a)?.[0]?.error}"`).join('; '))
    assert.ok(good.length >= 10, `the healthy server kept being probed (${good.length} samples)`)
    assert.ok(good.every((s) => s.ok), 'every probe of the healthy server succeeded')
    assert.ok(Math.max(...gaps) < INTERVAL * 1.1 + 150, `no probe of the healthy server waited on the others (gaps ${gaps.join(',')})`)
    for (const [a, why] of [[MUTE, /timeout/], [SLOW, /timeout/], [ERROR, /status 503/], [DROP, /timeout/]] as const) {
      const l = samples.get(a) ?? []
      assert.ok(l.length >= 3, `${a} is probed again after each failure (${l.length})`)
      assert.ok(l.every((s) => !s.ok && why.test(s.error ?? '')), `${a}: ${l.map((s) => s.error).join('; ')}`)
    }
    // A failure takes at most the timeout: no probe holds its slot longer.
    assert.is(scheduler.stats.errors, 0, 'no probe was stuck (a prober bug)')
  } finally {
    await scheduler.stop()
    await rig.close()
  }
})

test('tcp probes: a server that accepts and never answers is up by that method; a dropped SYN is a timeout', async () => {
  const rig = await contentServers()
  const got = new Map<string, Sample>()
  const prober = createProber('tcp', {timeoutMs: TIMEOUT})
  try {
    for (const a of [MUTE, DROP]) got.set(a, await prober.probe(probeTarget(a, rig.port)))
    assert.ok(got.get(MUTE)!.ok, 'a handshake is what tcp measures')
    assert.not.ok(got.get(DROP)!.ok)
    assert.match(got.get(DROP)!.error ?? '', /timeout/)
  } finally {
    await rig.close()
  }
})

test('the DNS-LB answers with the healthy server while the others fail, and marks them down', async () => {
  const rig = await contentServers()
  const tmp = tempDir()
  const state = lbState({
    pool: {servers: [GOOD, MUTE, SLOW, ERROR, DROP].map((address) => ({address}))},
    probe: {method: 'http', port: rig.port, interval: INTERVAL, timeout: TIMEOUT},
    select: {count: 5, downThreshold: 2, upThreshold: 1},
  })
  const lb = await DnsLoadBalancer.create({state, stateFile: join(tmp.dir, 'lb1.json'), listen: ['127.86.0.1:0']})
  const server = await startServer({listen: [{address: '127.86.0.1', port: 0}], handler: lb.handler, onError: () => {}})
  try {
    lb.start()
    const t0 = performance.now()
    let a: string[] = []
    while (performance.now() - t0 < 5000) {
      const r = await exchange('127.86.0.1', buildQuery(ZONE, RRType.A), {port: server.addresses[0]!.port, timeoutMs: 1000})
      a = r.message.answers.map((x) => String(x.data))
      const allDown = [MUTE, SLOW, ERROR, DROP].every((x) => lb.health.get(x)?.up === false)
      if (a.length === 1 && a[0] === GOOD && allDown) break
      await new Promise((r) => setTimeout(r, 100))
    }
    console.log(`    the answer is the healthy server alone and the others are down after ${(performance.now() - t0).toFixed(0)} ms`)
    assert.equal(a, [GOOD])
    for (const x of [MUTE, SLOW, ERROR, DROP]) assert.is(lb.health.get(x)?.up, false, `${x} is down`)
    assert.is(lb.health.get(GOOD)?.up, true)
  } finally {
    await server.close()
    await lb.close()
    await rig.close()
    tmp.done()
  }
})

test.run()
