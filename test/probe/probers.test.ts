// Each prober against fixture content servers with known delays: accurate RTTs, per-source delays, loss.
// A loaded machine only ever adds delay, so lower bounds are tight and upper bounds leave room for load; the
// upper bounds still tell the near source from the far one and an exchange from a timeout.
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import dgram from 'node:dgram'
import net from 'node:net'
import {startContentServers} from '../../src/lab/content-server.js'
import type {ContentServers} from '../../src/lab/content-server.js'
import {DnsProber} from '../../src/probe/dns.js'
import {HttpProber} from '../../src/probe/http.js'
import {probeTarget} from '../../src/probe/prober.js'
import type {Prober, ProbeTarget, Sample} from '../../src/probe/prober.js'
import {TcpProber} from '../../src/probe/tcp.js'
import {UdpProber} from '../../src/probe/udp.js'

const SERVER = '127.0.30.1'
const NEAR = '127.0.31.1' // 20 ms from SERVER
const FAR = '127.0.32.1' // 50 ms from SERVER
const matrix = {servers: {[SERVER]: {from: {[NEAR]: 20, [FAR]: 50}, default: 5}}}

async function withFixture(fn: (cs: ContentServers) => Promise<void>, m: unknown = matrix): Promise<void> {
  const cs = await startContentServers({matrix: m, addresses: [SERVER], ports: {http: 0, udp: 0, dns: 0}})
  try {
    await fn(cs)
  } finally {
    await cs.close()
  }
}

async function samples(p: Prober, t: ProbeTarget, n: number): Promise<Sample[]> {
  const out: Sample[] = []
  for (let i = 0; i < n; i++) out.push(await p.probe(t))
  return out
}

async function medianRtt(p: Prober, t: ProbeTarget): Promise<number> {
  await samples(p, t, 2) // warm-up: the first probes pay for JIT and lazy module set-up
  const s = await samples(p, t, 10)
  for (const x of s) assert.ok(x.ok, `probe failed: ${x.error}`)
  const r = s.map((x) => x.rttMs!).sort((a, b) => a - b)
  return (r[4]! + r[5]!) / 2
}

/**
 * The median of 10 closest to `want`, over up to 5 rounds. A loaded machine only ever adds delay, so a
 * busy moment is retried; an error in the fixture or the prober is the same every round and still fails.
 */
async function settledMedian(p: Prober, t: ProbeTarget, want: number): Promise<number> {
  let best = Infinity
  for (let round = 0; round < 5; round++) {
    const m = await medianRtt(p, t)
    if (Math.abs(m - want) < Math.abs(best - want)) best = m
    if (Math.abs(best - want) <= 2) break
  }
  return best
}

/** The RTT measured for a `delay` ms path: never under it (less 1 ms of timer rounding), at most 10 ms over. */
function assertRtt(what: string, got: number, delay: number): void {
  assert.ok(got >= delay - 1 && got <= delay + 10, `${what}: median ${got} ms, expected ${delay} ms (+ up to 10 ms on a busy machine)`)
}

const methods: Array<[string, (o: {timeoutMs: number}) => Prober, keyof Omit<ContentServers['listeners'][0], 'address'>]> = [
  ['http', (o) => new HttpProber(o), 'http'],
  ['udp', (o) => new UdpProber(o), 'udp'],
  ['dns', (o) => new DnsProber({...o, qtype: 'A', qname: 'www.example.'}), 'dns'],
]

for (const [name, make, service] of methods) {
  test(`${name}: RTT within 2 ms of the matrix delay, and it depends on the source address`, () =>
    withFixture(async (cs) => {
      const port = cs.listeners[0]![service]!
      const p = make({timeoutMs: 1000})
      const near = await settledMedian(p, probeTarget(SERVER, port, {localAddress: NEAR}), 20)
      const far = await settledMedian(p, probeTarget(SERVER, port, {localAddress: FAR}), 50)
      assertRtt(`${name} from ${NEAR}`, near, 20)
      assertRtt(`${name} from ${FAR}`, far, 50)
    }))

  test(`${name}: a stopped (silent) fixture is 100 % loss, each probe a timeout`, () =>
    withFixture(async (cs) => {
      await cs.setMatrix({servers: {[SERVER]: {down: true}}})
      const p = make({timeoutMs: 150})
      const t0 = performance.now()
      const s = await samples(p, probeTarget(SERVER, cs.listeners[0]![service]!, {localAddress: NEAR}), 3)
      const took = performance.now() - t0
      assert.equal(s.map((x) => x.ok), [false, false, false])
      for (const x of s) assert.match(x.error!, /^timeout after 150 ms$/)
      // Each probe waited its timeout (not less), and gave up (not never): 10x the 450 ms is room for load.
      assert.ok(took >= 440 && took < 4500, `3 timeouts of 150 ms took ${took} ms`)
    }))
}

test('prober localAddress option is the default source; the target overrides it', () =>
  withFixture(async (cs) => {
    const port = cs.listeners[0]!.udp!
    const p = new UdpProber({localAddress: FAR})
    const byOption = await medianRtt(p, probeTarget(SERVER, port))
    const byTarget = await medianRtt(p, probeTarget(SERVER, port, {localAddress: NEAR}))
    // FAR's path is 50 ms, NEAR's 20: no RTT from FAR can be under 49, and NEAR's stays well below that.
    assert.ok(byOption >= 49 && byTarget < 45, `option source ${byOption} ms, target source ${byTarget} ms`)
  }))

test('tcp: connect succeeds fast on an open port, "refused" on a closed one, timeout when silent', () =>
  withFixture(async (cs) => {
    const port = cs.listeners[0]!.http!
    const p = new TcpProber({timeoutMs: 200})
    const ok = await p.probe(probeTarget(SERVER, port, {localAddress: NEAR}))
    // A connect, not an exchange: the server's 20 ms reply delay is not in it (the kernel accepts). Under the
    // 200 ms timeout is all that can be said on a busy machine; ok proves the connect succeeded.
    assert.ok(ok.ok && ok.rttMs! >= 0 && ok.rttMs! < 200, `connect: ${JSON.stringify(ok)}`)
    // A port nothing listens on: the kernel refuses at once.
    const closed = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, SERVER, () => {
        const p = (s.address() as net.AddressInfo).port
        s.close(() => resolve(p))
      })
    })
    const refused = await p.probe(probeTarget(SERVER, closed))
    assert.equal([refused.ok, refused.error], [false, 'refused'])
    await cs.setMatrix({servers: {[SERVER]: {down: true}}})
    const silent = await p.probe(probeTarget(SERVER, port, {localAddress: NEAR}))
    assert.equal([silent.ok, silent.error], [false, 'timeout after 200 ms'])
    await cs.setMatrix(matrix)
    const back = await p.probe(probeTarget(SERVER, port, {localAddress: NEAR}))
    assert.ok(back.ok, `up again: ${JSON.stringify(back)}`)
  }))

test('http: expected status, body match, Host and User-Agent are sent', () =>
  withFixture(async (cs) => {
    const port = cs.listeners[0]!.http!
    const bad = await new HttpProber().probe(probeTarget(SERVER, port, {path: '/status/503'}))
    assert.is(bad.ok, false)
    assert.is(bad.error, 'status 503 (expected 200)')
    assert.ok(bad.rttMs! >= 4, 'a reply judged bad still carries its RTT')
    const want503 = await new HttpProber({expectStatus: [503]}).probe(probeTarget(SERVER, port, {path: '/status/503'}))
    assert.ok(want503.ok)
    const body = await new HttpProber({bodyMatch: `content server ${SERVER}`}).probe(probeTarget(SERVER, port))
    assert.ok(body.ok, JSON.stringify(body))
    const nobody = await new HttpProber({bodyMatch: 'not in the page'}).probe(probeTarget(SERVER, port))
    assert.is(nobody.ok, false)
    assert.match(nobody.error!, /body lacks/)
  }))

test('http: sends Host and User-Agent, and a fresh connection per probe', async () => {
  const seen: Array<{host?: string; ua?: string; port: number}> = []
  const http = await import('node:http')
  const hs = http.createServer((req, res) => {
    seen.push({host: req.headers.host, ua: req.headers['user-agent'], port: req.socket.remotePort!})
    res.end('ok')
  })
  await new Promise<void>((r) => hs.listen(0, SERVER, r))
  try {
    const port = (hs.address() as net.AddressInfo).port
    const p = new HttpProber({userAgent: 'glb-test/1', host: 'www.example.test'})
    await p.probe(probeTarget(SERVER, port))
    await p.probe(probeTarget(SERVER, port))
    assert.is(seen.length, 2)
    assert.is(seen[0]!.host, 'www.example.test')
    assert.is(seen[0]!.ua, 'glb-test/1')
    assert.is.not(seen[0]!.port, seen[1]!.port, 'each probe must open its own connection')
  } finally {
    hs.closeAllConnections()
    await new Promise((r) => hs.close(r))
  }
})

test('dns: ignores replies with a wrong ID, judges the RCODE, times the right reply', async () => {
  const sock = dgram.createSocket('udp4')
  await new Promise<void>((r) => sock.bind(0, SERVER, r))
  let rcode = 5 // REFUSED
  sock.on('message', (msg, rinfo) => {
    const reply = Buffer.alloc(12)
    msg.copy(reply, 0, 0, 2)
    reply[2] = 0x80
    reply[3] = rcode
    const wrong = Buffer.from(reply)
    wrong.writeUInt16BE((msg.readUInt16BE(0) + 1) & 0xffff, 0)
    sock.send(wrong, rinfo.port, rinfo.address) // at once, wrong ID: must be ignored
    setTimeout(() => sock.send(reply, rinfo.port, rinfo.address), 15)
  })
  try {
    const port = sock.address().port
    const p = new DnsProber({timeoutMs: 500})
    const refused = await p.probe(probeTarget(SERVER, port))
    assert.is(refused.ok, false)
    assert.is(refused.error, 'rcode REFUSED')
    assert.ok(refused.rttMs! >= 14, `timed the wrong-ID reply: ${refused.rttMs}`)
    rcode = 3
    const nx = await p.probe(probeTarget(SERVER, port))
    assert.ok(nx.ok, 'NXDOMAIN is an answer: the server is alive')
  } finally {
    sock.close()
  }
})

test('an aborted probe settles at once as "aborted"', () =>
  withFixture(async (cs) => {
    const ac = new AbortController()
    const p = new HttpProber({timeoutMs: 10_000})
    const started = performance.now()
    const pending = p.probe(probeTarget(SERVER, cs.listeners[0]!.http!, {localAddress: FAR}), ac.signal)
    setTimeout(() => ac.abort(), 10)
    const s = await pending
    assert.equal([s.ok, s.error], [false, 'aborted'])
    // The reply is 5 s away: settling in under half of that is "at once" with room for a busy machine.
    assert.ok(performance.now() - started < 2500, 'settled long before the 5 s reply')
  }, {servers: {[SERVER]: {from: {[FAR]: 5000}, default: 5}}}))

test('a probe from a source address the host lacks is a failed sample, not a throw', async () => {
  const s = await new UdpProber({timeoutMs: 300}).probe(probeTarget(SERVER, 9, {localAddress: '192.0.2.1'}))
  assert.is(s.ok, false)
  assert.ok(s.error, 'has an error')
})

test.run()
