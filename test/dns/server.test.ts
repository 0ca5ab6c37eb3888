// The server on real loopback sockets: UDP and TCP (RFC 7766 framing, pipelining, idle, bounds), EDNS and
// truncation, the errors it answers itself, handler failures, NSID and the query log.
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import dgram from 'node:dgram'
import net from 'node:net'
import {PassThrough} from 'node:stream'
import {startServer} from '../../src/dns/server.js'
import {PreparedAnswer, type ResponseSpec} from '../../src/dns/response.js'
import type {Handler} from '../../src/dns/handler.js'
import {buildQuery, exchange} from '../../src/dns/client.js'
import {readMessage, type Message} from '../../src/dns/wire/reader.js'
import {Flag} from '../../src/dns/wire/constants.js'
import {runLocalServer, type LocalServer} from '../helpers/servers.js'
import {runTool} from '../helpers/run-tool.js'
import {requires} from '../helpers/env.js'

const ADDR = '127.3.0.1'

const many = (name: string, n: number): ResponseSpec => ({rcode: 0, aa: true,
  answer: Array.from({length: n}, (_, i) => ({name, type: 1, ttl: 60, data: `10.1.${i >> 8}.${i & 255}`}))})
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** What each test name makes the handler do. */
const handler: Handler = {
  async serveDNS(req, w) {
    const name = req.query.qname
    const m = /^n(\d+)\.big\.test\.$/.exec(name)
    if (m) return w.reply(many(name, Number(m[1])))
    const slow = /^slow(\d+)\.test\.$/.exec(name)
    if (slow) { await sleep(Number(slow[1])); return w.reply({rcode: 0, aa: true, answer: [{name, type: 16, ttl: 0, data: [slow[1]!]}]}) }
    if (name === 'throw.test.') throw new Error('boom')
    if (name === 'reject.test.') { await sleep(5); throw new Error('late boom') }
    if (name === 'unencodable.test.') return w.reply({rcode: 0, answer: [{name, type: 1, ttl: 1, data: 'not-an-address'}]})
    if (name === 'prepared.test.') return w.prepared(prepared)
    if (name === 'drop.test.') return w.drop()
    return w.reply({rcode: 0, aa: true, answer: [{name, type: 1, ttl: 60, data: '192.0.2.1'}]})
  },
}
const prepared = new PreparedAnswer('prepared.test.', 1, many('prepared.test.', 100))

/** Sends raw octets over UDP and returns the reply, or null if none came within `waitMs`. */
function rawUdp(port: number, bytes: Buffer, waitMs = 300, address = ADDR): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4')
    const timer = setTimeout(() => { s.close(); resolve(null) }, waitMs)
    s.on('message', (b) => { clearTimeout(timer); s.close(); resolve(b) })
    s.send(bytes, port, address)
  })
}

/** A TCP connection that collects framed messages. */
async function tcpSession(port: number, address = ADDR) {
  const sock = net.connect({host: address, port})
  await new Promise<void>((resolve, reject) => { sock.once('connect', resolve); sock.once('error', reject) })
  const got: Buffer[] = []
  let buf = Buffer.alloc(0)
  let wake: (() => void) | null = null
  const closed = new Promise<number>((resolve) => sock.once('close', () => { wake?.(); resolve(performance.now()) }))
  sock.on('error', () => {})
  sock.on('data', (chunk) => {
    buf = Buffer.concat([buf, chunk])
    while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
      got.push(buf.subarray(2, 2 + buf.readUInt16BE(0)))
      buf = buf.subarray(2 + buf.readUInt16BE(0))
    }
    wake?.()
  })
  return {
    sock, got, closed,
    frame: (m: Buffer) => Buffer.concat([Buffer.from([m.length >> 8, m.length & 255]), m]),
    async waitFor(n: number, ms = 2000): Promise<Message[]> {
      const end = Date.now() + ms
      while (got.length < n && !sock.destroyed && Date.now() < end) await new Promise<void>((r) => { wake = r; setTimeout(r, 20) })
      return got.map((b) => readMessage(b))
    },
  }
}

async function withServer(fn: (s: LocalServer) => Promise<void>, o: Parameters<typeof runLocalServer>[1] = {}): Promise<void> {
  const s = await runLocalServer(handler, {address: ADDR, ...o})
  try { await fn(s) } finally { await s.close() }
}

test('UDP and TCP on the same port, IPv4 and IPv6 listeners from one call', async () => {
  const server = await startServer({listen: [`${ADDR}:0`, '[::1]:0'], handler})
  try {
    assert.is(server.addresses.length, 2)
    for (const a of server.addresses) {
      for (const transport of ['udp', 'tcp'] as const) {
        const r = await exchange(a.address, buildQuery('x.test', 1), {port: a.port, transport})
        assert.is(r.message.answers[0]!.data, '192.0.2.1', `${a.address} ${transport}`)
        assert.is(r.transport, transport)
      }
    }
    assert.ok(server.stats.udp >= 2 && server.stats.tcp >= 2)
  } finally {
    await server.close()
    await server.close() // twice is fine
  }
})

test('listen specs: ADDR, ADDR:PORT, [v6]:PORT; port 53 by default; a taken port names the address and leaves nothing bound', async () => {
  const {parseListen} = await import('../../src/dns/listen-address.js')
  assert.equal(parseListen('127.0.0.10'), {address: '127.0.0.10', port: 53})
  assert.equal(parseListen('127.0.0.10:5300'), {address: '127.0.0.10', port: 5300})
  assert.equal(parseListen('[::1]:5300'), {address: '::1', port: 5300})
  assert.equal(parseListen('::1'), {address: '::1', port: 53})
  assert.throws(() => parseListen('localhost:53'), /localhost:53/)
  assert.throws(() => parseListen('127.0.0.1:70000'), /port/)
  const first = await startServer({listen: [`${ADDR}:0`], handler})
  try {
    const taken = first.addresses[0]!.port
    const free = await startServer({listen: ['127.3.0.2:0'], handler})
    const freePort = free.addresses[0]!.port
    await free.close()
    // The second address is taken: the call fails, naming it, and the first one is released again.
    const err = await startServer({listen: [`127.3.0.2:${freePort}`, `${ADDR}:${taken}`], handler}).then(() => null, (e: Error) => e)
    assert.ok(err, 'binding a taken port fails')
    assert.match(err!.message, new RegExp(`${ADDR.replace(/\./g, '\\.')}:${taken}.*in use`))
    const again = await startServer({listen: [`127.3.0.2:${freePort}`], handler})
    await again.close()
  } finally {
    await first.close()
  }
})

test('TCP: several queries on one connection, pipelined and answered as each is ready (RFC 7766 §6.2.1.1)', async () => {
  await withServer(async (s) => {
    const t = await tcpSession(s.port)
    try {
      // One write carrying three queries; the first is slow, so its answer comes last.
      const qs = [buildQuery('slow300.test', 16, {id: 1}), buildQuery('slow10.test', 16, {id: 2}), buildQuery('fast.test', 1, {id: 3})]
      t.sock.write(Buffer.concat(qs.map(t.frame)))
      const answers = await t.waitFor(3)
      assert.equal(answers.map((m) => m.header.id), [3, 2, 1])
      // The connection stays open for more.
      t.sock.write(t.frame(buildQuery('again.test', 1, {id: 4})))
      const more = await t.waitFor(4)
      assert.is(more[3]!.header.id, 4)
      // A message split across writes is reassembled.
      const q = t.frame(buildQuery('split.test', 1, {id: 5}))
      t.sock.write(q.subarray(0, 1)); await sleep(20); t.sock.write(q.subarray(1, 9)); await sleep(20); t.sock.write(q.subarray(9))
      assert.is((await t.waitFor(5))[4]!.header.id, 5)
    } finally {
      t.sock.destroy()
    }
  })
})

test('TCP: an idle connection is closed after tcpIdleMs; a stalled partial message after tcpSlowMs', async () => {
  await withServer(async (s) => {
    const idle = await tcpSession(s.port)
    const slow = await tcpSession(s.port)
    const t0 = performance.now()
    try {
      slow.sock.write(Buffer.from([0, 40, 0x12])) // announces 40 octets, sends 1
      const slowAt = await Promise.race([slow.closed, sleep(10_000).then(() => -1)])
      assert.ok(slowAt > 0, 'a stalled sender is disconnected')
      assert.ok(slowAt - t0 >= 250, `closed after ${(slowAt - t0).toFixed(0)} ms, before tcpSlowMs`)
      const idleAt = await Promise.race([idle.closed, sleep(10_000).then(() => -1)])
      assert.ok(idleAt > 0, 'an idle connection is closed')
      assert.ok(idleAt - t0 >= 550, `idle closed after ${(idleAt - t0).toFixed(0)} ms`)
      // The stalled sender is cut at its own, shorter bound, not with the idle one (an order, not a duration:
      // the idle connection was opened first, so only a separate slow-sender bound closes the other first).
      assert.ok(slowAt < idleAt, `the stalled sender was closed ${(slowAt - idleAt).toFixed(0)} ms after the idle one`)
    } finally {
      idle.sock.destroy(); slow.sock.destroy()
    }
  }, {tcpIdleMs: 600, tcpSlowMs: 300})
})

test('TCP: connections beyond the bound are closed at once, and a freed slot is usable again', async () => {
  await withServer(async (s) => {
    const a = await tcpSession(s.port)
    const b = await tcpSession(s.port)
    const c = await tcpSession(s.port)
    try {
      const cClosed = await Promise.race([c.closed.then(() => true), sleep(1000).then(() => false)])
      assert.ok(cClosed, 'the third connection is refused')
      assert.is(s.server.stats.tcpOpen, 2)
      a.sock.write(a.frame(buildQuery('ok.test', 1, {id: 9})))
      assert.is((await a.waitFor(1))[0]!.header.id, 9)
      a.sock.destroy()
      await a.closed
      await sleep(50)
      const d = await tcpSession(s.port)
      d.sock.write(d.frame(buildQuery('ok.test', 1, {id: 10})))
      assert.is((await d.waitFor(1))[0]?.header.id, 10)
      d.sock.destroy()
    } finally {
      a.sock.destroy(); b.sock.destroy(); c.sock.destroy()
    }
  }, {maxTcpConnections: 2})
})

test('TCP: a frame too short to be DNS closes the connection; a client that never reads is bounded', async () => {
  await withServer(async (s) => {
    const t = await tcpSession(s.port)
    t.sock.write(Buffer.from([0, 3, 1, 2, 3]))
    assert.ok(await Promise.race([t.closed.then(() => true), sleep(1000).then(() => false)]))
    // A client that pipelines 3000 queries for ~5 KB answers and never reads: the server stops reading at its
    // bound instead of queueing 14 MB of answers, and stays responsive to others.
    const hog = net.connect({host: ADDR, port: s.port})
    await new Promise((r) => hog.once('connect', r))
    hog.on('error', () => {})
    hog.pause()
    const q = buildQuery('n300.big.test', 1, {id: 1})
    const frame = Buffer.concat([Buffer.from([0, q.length]), q])
    hog.write(Buffer.concat(Array(3000).fill(frame)))
    await sleep(500)
    const read = s.server.stats.tcp
    assert.ok(read < 2000, `the server read ${read} of 3000 queries from a client that does not read`)
    const r = await exchange(ADDR, buildQuery('other.test', 1), {port: s.port, transport: 'tcp'})
    assert.is(r.message.answers.length, 1)
    hog.destroy()
  })
})

test('TCP: at most maxTcpPipeline queries of one connection are worked on at once', async () => {
  await withServer(async (s) => {
    const t = await tcpSession(s.port)
    try {
      t.sock.write(Buffer.concat(Array.from({length: 30}, (_, i) => t.frame(buildQuery('slow200.test', 16, {id: i})))))
      await sleep(100)
      assert.is(s.server.stats.tcp, 10, 'ten taken, twenty waiting')
      const all = await t.waitFor(30, 3000)
      assert.is(all.length, 30, 'the rest are read as answers go out')
    } finally {
      t.sock.destroy()
    }
  }, {maxTcpPipeline: 10})
})

test('EDNS: OPT only when asked; answers over the advertised size (capped at 1232) are truncated; TCP gets them whole', async () => {
  await withServer(async (s) => {
    const plain = await s.ask('x.test', 'A', {edns: false})
    assert.is(plain.message.edns, null)
    const withOpt = await s.ask('x.test', 'A', {edns: {udpSize: 4096}})
    assert.is(withOpt.message.edns?.udpSize, 1232, 'we advertise our own size')
    // ~40 records: 680 octets. 100 records: 1650 octets, over our cap even for a 4096 asker.
    const cases: [string, false | {udpSize: number}, boolean][] = [
      ['n40.big.test', false, true], ['n40.big.test', {udpSize: 512}, true], ['n40.big.test', {udpSize: 1232}, false],
      ['n100.big.test', {udpSize: 4096}, true], ['prepared.test', {udpSize: 4096}, true], ['prepared.test', false, true],
    ]
    for (const [name, edns, tc] of cases) {
      const r = await s.ask(name, 'A', {edns})
      const size = edns ? Math.min(Math.max(edns.udpSize, 512), 1232) : 512
      assert.ok(r.response.length <= size, `${name} ${JSON.stringify(edns)}: ${r.response.length} > ${size}`)
      assert.is(Boolean(r.message.header.flags & Flag.TC), tc, `${name} ${JSON.stringify(edns)} TC`)
      if (tc) {
        const whole = await s.ask(name, 'A', {edns, transport: 'tcp'})
        assert.ok(!(whole.message.header.flags & Flag.TC))
        assert.is(whole.message.answers.length, Number(/\d+/.exec(name)?.[0] ?? 100))
      }
    }
  })
})

test('the server answers itself: FORMERR, NOTIMP, BADVERS; drops responses and headerless junk', async () => {
  await withServer(async (s) => {
    const q = buildQuery('x.test', 1, {id: 0x4242})
    // Malformed with a readable header: FORMERR, ID kept.
    const bad = Buffer.from(q); bad[12] = 0x70 // a label length running past the end
    const formerr = await rawUdp(s.port, bad)
    assert.ok(formerr)
    assert.is(readMessage(formerr!).rcode, 1)
    assert.is(readMessage(formerr!).header.id, 0x4242)
    // Two questions: FORMERR.
    const two = Buffer.concat([q.subarray(0, 12), q.subarray(12, q.length - 11), q.subarray(12, q.length - 11)]); two.writeUInt16BE(2, 4); two.writeUInt16BE(0, 10)
    assert.is(readMessage((await rawUdp(s.port, two))!).rcode, 1)
    // Opcode STATUS (2), and an unknown opcode 9 even with a malformed body: NOTIMP.
    const status = buildQuery('x.test', 1, {opcode: 2})
    assert.is(readMessage((await rawUdp(s.port, status))!).rcode, 4)
    const op9 = Buffer.from(bad); op9[2] = (op9[2]! & 0x87) | (9 << 3)
    assert.is(readMessage((await rawUdp(s.port, op9))!).rcode, 4)
    // EDNS version 1: BADVERS (16 = 0 in the header + 1 in OPT), our OPT says version 0.
    const v1 = buildQuery('x.test', 1, {id: 7}); v1[v1.length - 11 + 6] = 1
    const badvers = readMessage((await rawUdp(s.port, v1))!)
    assert.is(badvers.rcode, 16)
    assert.is(badvers.edns?.version, 0)
    assert.is(badvers.answers.length, 0)
    // QR=1 (a response) and fewer than 12 octets: no answer at all.
    const resp = Buffer.from(q); resp[2] = resp[2]! | 0x80
    assert.is(await rawUdp(s.port, resp), null)
    assert.is(await rawUdp(s.port, Buffer.from([1, 2, 3, 4, 5])), null)
    // Still serving.
    assert.is((await s.ask('x.test', 'A')).message.answers.length, 1)
  })
})

test('handler failures become SERVFAIL (throw, reject, unencodable data); drop() sends nothing', async () => {
  const errors: unknown[] = []
  await withServer(async (s) => {
    for (const name of ['throw.test', 'reject.test', 'unencodable.test']) {
      const r = await s.ask(name, 'A')
      assert.is(r.message.rcode, 2, name)
    }
    assert.is(errors.length, 3)
    assert.is(await rawUdp(s.port, buildQuery('drop.test', 1)), null)
  }, {onError: (e) => errors.push(e)})
})

test('NSID (RFC 5001) only when asked for', async () => {
  await withServer(async (s) => {
    const asked = await s.ask('x.test', 'A', {edns: {options: [Buffer.from([0, 3, 0, 0])]}})
    assert.equal(asked.message.edns!.options.map((o) => [o.code, o.data.toString()]), [[3, 'glb test']])
    const prep = await s.ask('prepared.test', 'A', {edns: {options: [Buffer.from([0, 3, 0, 0])]}, transport: 'tcp'})
    assert.equal(prep.message.edns!.options.map((o) => o.code), [3])
    const notAsked = await s.ask('x.test', 'A')
    assert.is(notAsked.message.edns!.options.length, 0)
  }, {nsid: 'glb test'})
})

test('--log-queries: one JSON line per query with time, client, qname, qtype, rcode, answer and µs', async () => {
  const log = new PassThrough()
  let text = ''
  log.on('data', (d) => (text += d))
  await withServer(async (s) => {
    await s.ask('Mixed.Case.test', 'AAAA')
    await s.ask('prepared.test', 'A', {transport: 'tcp'})
    await rawUdp(s.port, Buffer.from([0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0x3f]))
  }, {queryLog: log})
  const lines = text.trim().split('\n').map((l) => JSON.parse(l))
  assert.is(lines.length, 3)
  const [a, b, c] = lines
  assert.is(a.client, '127.0.0.1')
  assert.is(a.qname, 'mixed.case.test.')
  assert.is(a.qtype, 'AAAA')
  assert.is(a.rcode, 'NOERROR')
  assert.match(a.answer, /A 192\.0\.2\.1/)
  assert.ok(Number.isInteger(a.us) && a.us >= 0)
  assert.ok(!Number.isNaN(Date.parse(a.time)))
  assert.is(b.qname, 'prepared.test.')
  assert.match(b.answer, /NOERROR A 10\.1\.0\.0/)
  assert.is(c.rcode, 'FORMERR')
  assert.is(c.qname, null)
})

requires(['dig'], test).test('dig: +bufsize=512 +ignore shows TC; over TCP the same answer comes whole; mixed case comes back as sent', async () => {
  await withServer(async (s) => {
    const udp = await runTool('dig', [`@${ADDR}`, '-p', String(s.port), '+bufsize=512', '+ignore', '+norec', 'n60.big.test', 'A'])
    assert.match(udp.stdout, /flags: qr aa tc/)
    assert.match(udp.stdout, /ANSWER: 0,/)
    const tcp = await runTool('dig', [`@${ADDR}`, '-p', String(s.port), '+tcp', '+norec', 'n60.big.test', 'A'])
    assert.match(tcp.stdout, /ANSWER: 60,/)
    assert.match(tcp.stdout, /\(TCP\)/)
    const mixed = await runTool('dig', [`@${ADDR}`, '-p', String(s.port), '+norec', 'MiXeD.TeSt', 'A'])
    assert.match(mixed.stdout, /;MiXeD\.TeSt\.\s+IN\s+A/)
    assert.match(mixed.stdout, /\nMiXeD\.TeSt\.\s+60\s+IN\s+A\s+192\.0\.2\.1/)
  })
})

test.run()
