// Fixture content servers: matrix rules, DNS/HTTP replies, live matrix file reloads, silence when down.
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import dgram from 'node:dgram'
import {mkdtempSync, renameSync, rmSync, writeFileSync} from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import dnsPacket from 'dns-packet'
import {startContentServers} from '../../src/lab/content-server.js'
import {LatencyMatrix} from '../../src/lab/latency-matrix.js'
import {probeTarget} from '../../src/probe/prober.js'
import {UdpProber} from '../../src/probe/udp.js'
import {TcpProber} from '../../src/probe/tcp.js'

const A = '127.0.50.1'
const B = '127.0.50.2'
const POP = '127.0.51.1'
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

test('matrix: longest matching prefix wins, then the server default, then the global default', () => {
  const m = LatencyMatrix.parse({
    defaultMs: 7,
    servers: {[A]: {from: {'127.0.0.0/8': 40, '127.0.51.0/24': 20, [POP]: 5}, default: 60}, [B]: {}},
  })
  const cases: Array<[string, string, number]> = [
    [A, POP, 5],
    [A, '127.0.51.9', 20],
    [A, '127.9.9.9', 40],
    [A, '::1', 60],
    [B, POP, 7],
    ['127.0.50.99', POP, 7],
  ]
  for (const [server, source, ms] of cases) assert.is(m.delayMs(server, source), ms, `${server} from ${source}`)
  assert.equal(m.addresses, [A, B])
})

test('matrix: a bad file is one line naming the field', () => {
  const cases: Array<[unknown, RegExp]> = [
    [{servers: {[A]: {from: {[POP]: -1}}}}, /servers\.127\.0\.50\.1\.from\.127\.0\.51\.1: /],
    [{servers: {[A]: {dwon: true}}}, /servers\.127\.0\.50\.1: .*dwon/],
    [{servers: {[A]: {from: {'not-a-prefix': 5}}}}, /"not-a-prefix" is not an address or prefix/],
    [{servers: {'www.example': {}}}, /servers key "www.example" is not an IP address/],
    [{}, /servers/],
  ]
  for (const [value, re] of cases) {
    assert.throws(() => LatencyMatrix.parse(value, 'm.json'), (e: Error) => re.test(e.message) && !e.message.includes('\n') && e.message.startsWith('m.json: '))
  }
})

test('the shipped lab matrix: server k is ~5 ms from POP k and 40-80 ms from the others', () => {
  const m = LatencyMatrix.load(new URL('../../fixtures/latency-matrix.json', import.meta.url).pathname)
  for (let k = 1; k <= 3; k++)
    for (let p = 1; p <= 3; p++) {
      const d = m.delayMs(`127.0.10.${k}`, `127.0.${p}.1`)
      if (k === p) assert.is(d, 5)
      else assert.ok(d >= 40 && d <= 80, `server ${k} from POP ${p}: ${d} ms`)
    }
})

test('DNS: any A query is answered with the server\'s own address; HTTP says who served', async () => {
  const cs = await startContentServers({matrix: {servers: {[A]: {default: 1}, [B]: {default: 1}}}, ports: {http: 0, udp: 0, dns: 0}})
  const sock = dgram.createSocket('udp4')
  try {
    await new Promise<void>((r) => sock.bind(0, POP, r))
    for (const l of cs.listeners) {
      const reply = new Promise<Buffer>((r) => sock.once('message', r))
      sock.send(dnsPacket.encode({type: 'query', id: 4242, flags: dnsPacket.RECURSION_DESIRED, questions: [{type: 'A', name: 'cdn.example.com', class: 'IN'}]}), l.dns!, l.address)
      const msg = dnsPacket.decode(await reply) as dnsPacket.DecodedPacket & {rcode?: string}
      assert.is(msg.id, 4242)
      assert.is(msg.rcode, 'NOERROR')
      assert.is(msg.flag_aa, true)
      assert.equal(msg.answers!.map((a: any) => [a.name, a.type, a.data]), [['cdn.example.com', 'A', l.address]])

      const body = await new Promise<{served: string; text: string}>((resolve, reject) => {
        http.get({host: l.address, port: l.http!, path: '/', agent: false}, (res) => {
          let text = ''
          res.on('data', (c) => (text += c)).on('end', () => resolve({served: String(res.headers['x-served-by']), text}))
        }).on('error', reject)
      })
      assert.is(body.served, l.address)
    }
    // AAAA to an IPv4 server: NOERROR with no answer; two questions: FORMERR.
    const l = cs.listeners[0]!
    const nodata = new Promise<Buffer>((r) => sock.once('message', r))
    sock.send(dnsPacket.encode({type: 'query', id: 1, questions: [{type: 'AAAA', name: 'x.example', class: 'IN'}]}), l.dns!, l.address)
    const nd = dnsPacket.decode(await nodata) as dnsPacket.DecodedPacket & {rcode?: string}
    assert.equal([nd.rcode, nd.answers!.length], ['NOERROR', 0])
    const two = new Promise<Buffer>((r) => sock.once('message', r))
    sock.send(dnsPacket.encode({type: 'query', id: 2, questions: [{type: 'A', name: 'a.example', class: 'IN'}, {type: 'A', name: 'b.example', class: 'IN'}]}), l.dns!, l.address)
    assert.is((dnsPacket.decode(await two) as {rcode?: string}).rcode, 'FORMERR')
  } finally {
    sock.close()
    await cs.close()
  }
})

test('the matrix file is re-read while running: new delays apply, "down" goes silent, bad files are ignored', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'glb-matrix-'))
  const file = join(dir, 'matrix.json')
  const write = (ms: number, down = false): void => writeFileSync(file, JSON.stringify({servers: {[A]: {from: {[POP]: ms}, down}}}))
  write(10)
  const logs: string[] = []
  const cs = await startContentServers({matrixFile: file, ports: {http: 0, udp: 0, dns: 0}, pollMs: 100, log: (l) => logs.push(l)})
  const l = cs.listeners[0]!
  const udp = new UdpProber({timeoutMs: 300, localAddress: POP})
  const tcp = new TcpProber({timeoutMs: 300, localAddress: POP})
  const rtt = async (): Promise<number | undefined> => (await udp.probe(probeTarget(A, l.udp!))).rttMs
  const until = async (what: string, cond: () => Promise<boolean>): Promise<void> => {
    for (let i = 0; i < 40; i++) if (await cond()) return void 0
    throw new Error(`matrix change not seen: ${what}`)
  }
  try {
    assert.ok((await rtt())! < 25)
    write(60)
    await until('delay 60', async () => ((await rtt()) ?? 0) > 55)
    // An atomic save (write elsewhere, rename over) is seen too.
    writeFileSync(join(dir, 'next.tmp'), JSON.stringify({servers: {[A]: {from: {[POP]: 30}}}}))
    renameSync(join(dir, 'next.tmp'), file)
    await until('delay 30 after rename', async () => Math.abs(((await rtt()) ?? 0) - 30) < 5)
    // A broken file keeps the last good matrix.
    writeFileSync(file, '{"servers": ')
    await sleep(400)
    assert.ok(Math.abs((await rtt())! - 30) < 5, 'last good matrix kept')
    assert.ok(logs.some((x) => /keeping the last good one/.test(x)), logs.join('\n'))
    write(30, true)
    await until('down', async () => (await udp.probe(probeTarget(A, l.udp!))).ok === false)
    // UDP goes silent at once; the held TCP port takes a worker's start-up to fill its queue, during which a
    // connect may be refused. What matters is where it settles: silent (a timeout), never refused.
    await until('TCP silent, not refused', async () => (await tcp.probe(probeTarget(A, l.http!))).error === 'timeout after 300 ms')
    write(5)
    await until('up again', async () => (await tcp.probe(probeTarget(A, l.http!))).ok && ((await rtt()) ?? 99) < 15)
  } finally {
    await cs.close()
    rmSync(dir, {recursive: true, force: true})
  }
})

test('down drops replies already waiting; close() frees every port', async () => {
  const cs = await startContentServers({matrix: {servers: {[A]: {default: 100}}}, ports: {http: 0, udp: 0, dns: 0}})
  const l = cs.listeners[0]!
  const pending = new UdpProber({timeoutMs: 400}).probe(probeTarget(A, l.udp!))
  await sleep(20)
  await cs.setMatrix({servers: {[A]: {default: 100, down: true}}})
  const s = await pending
  assert.is(s.ok, false, 'a reply scheduled before going down is never sent')
  assert.ok((cs.hits.get(A) ?? 0) >= 1, 'the request did arrive')
  await cs.close()
  // Every port can be bound again at once.
  const srv = net.createServer()
  await new Promise<void>((r, j) => srv.once('error', j).listen(l.http!, A, r))
  srv.close()
  const u = dgram.createSocket('udp4')
  await new Promise<void>((r) => u.bind(l.udp!, A, r))
  u.close()
})

test.run()
