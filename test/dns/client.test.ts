// The query client against hand-written responders on loopback sockets: the query buildQuery writes, which
// UDP replies exchange accepts (ID, question, source address and port: RFC 5452), timeouts, the source
// address, TC and the TCP fallback, malformed replies, aborts, TCP framing and errors, and zone-transfer streams.
// glb-test-timeout: 60
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import dgram from 'node:dgram'
import net from 'node:net'
import {buildQuery, exchange, exchangeTcpStream, ExchangeError, type ExchangeOptions} from '../../src/dns/client.js'
import {readMessage, parseQuery} from '../../src/dns/wire/reader.js'
import {MessageWriter} from '../../src/dns/wire/writer.js'
import {EdnsOption, Flag, RRClass} from '../../src/dns/wire/constants.js'

const SERVER = '127.0.57.1' // where the responders listen
const CLIENT = '127.0.57.2' // a source address the client is told to use
const OTHER = '127.0.57.9' // a third party that sends spoofed replies

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

// ---- replies ---------------------------------------------------------------------------------------------

interface ReplyOptions {
  id?: number
  flags?: number
  /** Put this question in the reply instead of the query's own (name, and optionally type). */
  qname?: string
  qtype?: number
  /** The A record's address; none when null. */
  ip?: string | null
}

/** A reply to `q`: the query's question copied byte for byte (unless overridden) and one A record. */
function reply(q: Buffer, o: ReplyOptions = {}): Buffer {
  const p = parseQuery(q)
  const ip = o.ip === undefined ? '192.0.2.1' : o.ip
  const w = new MessageWriter(128)
  w.header(o.id ?? p.header.id, o.flags ?? (Flag.QR | Flag.AA), 1, ip ? 1 : 0, 0, 0)
  if (o.qname !== undefined || o.qtype !== undefined) {
    w.name(o.qname ?? p.qname, false)
    w.u16(o.qtype ?? p.qtype)
    w.u16(p.qclass)
  } else {
    w.bytes(q.subarray(12, p.questionEnd))
  }
  if (ip) w.rr({name: p.qname, type: 1, ttl: 60, data: ip})
  return w.finish()
}

/** The address of the first A record of an exchange's reply. */
const firstA = (r: {message: {answers: {data: unknown}[]}}) => r.message.answers[0]?.data

/** Runs `fn` and returns the ExchangeError it rejects with (fails the test when it resolves). */
async function failure(fn: () => Promise<unknown>): Promise<ExchangeError> {
  try {
    await fn()
  } catch (err) {
    assert.instance(err, ExchangeError)
    return err as ExchangeError
  }
  assert.unreachable('expected an ExchangeError')
  throw new Error('unreachable')
}

// ---- responders ------------------------------------------------------------------------------------------

interface UdpResponder {
  sock: dgram.Socket
  port: number
  /** Where each query came from. */
  seen: dgram.RemoteInfo[]
  close(): Promise<void>
}

/** A UDP socket bound to `address` (free port) that passes every datagram to `onQuery`. */
async function udpResponder(onQuery: (q: Buffer, from: dgram.RemoteInfo, sock: dgram.Socket) => void | Promise<void>, address = SERVER, port = 0): Promise<UdpResponder> {
  const sock = dgram.createSocket('udp4')
  await new Promise<void>((resolve, reject) => { sock.once('error', reject); sock.bind(port, address, () => { sock.off('error', reject); resolve() }) })
  const seen: dgram.RemoteInfo[] = []
  sock.on('message', (q, from) => {
    seen.push(from)
    // A failed test may close the socket while a handler still sends: that must not crash the file.
    try { void Promise.resolve(onQuery(q, from, sock)).catch(() => {}) } catch {}
  })
  return {sock, port: sock.address().port, seen, close: () => new Promise<void>((r) => sock.close(() => r()))}
}

interface TcpResponder {
  port: number
  /** The remote address of every connection accepted. */
  peers: string[]
  close(): Promise<void>
}

/**
 * A TCP listener on `address:port` (0: a free port). `onConnection` gets each connection and a way to read its
 * framed messages; by default every message is answered with `onFrame`'s reply (if any), framed.
 */
async function tcpResponder(port: number, o: {
  onFrame?: (q: Buffer, conn: net.Socket) => Buffer | Buffer[] | null
  onConnection?: (conn: net.Socket) => void
  address?: string
}): Promise<TcpResponder> {
  const conns = new Set<net.Socket>()
  const peers: string[] = []
  const server = net.createServer((conn) => {
    conns.add(conn)
    peers.push(conn.remoteAddress ?? '')
    conn.on('close', () => conns.delete(conn))
    conn.on('error', () => {})
    if (o.onConnection) return o.onConnection(conn)
    let buf = Buffer.alloc(0)
    conn.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk])
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const q = buf.subarray(2, 2 + buf.readUInt16BE(0))
        buf = buf.subarray(2 + q.length)
        const out = o.onFrame?.(Buffer.from(q), conn)
        if (out) conn.write(Buffer.concat((Array.isArray(out) ? out : [out]).map(frame)))
      }
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen({port, host: o.address ?? SERVER, exclusive: true}, () => { server.off('error', reject); resolve() })
  })
  return {
    port: (server.address() as net.AddressInfo).port,
    peers,
    close: () => new Promise<void>((r) => { for (const c of conns) c.destroy(); server.close(() => r()) }),
  }
}

/** RFC 1035 §4.2.2 framing. */
const frame = (m: Buffer) => Buffer.concat([Buffer.from([m.length >> 8, m.length & 255]), m])

/** A UDP responder and a TCP responder on the same address and port (retried if the TCP port is taken). */
async function udpAndTcp(onUdp: Parameters<typeof udpResponder>[0], tcp: Parameters<typeof tcpResponder>[1]): Promise<{udp: UdpResponder; tcp: TcpResponder; close(): Promise<void>}> {
  for (let i = 0; ; i++) {
    const udp = await udpResponder(onUdp)
    try {
      const t = await tcpResponder(udp.port, tcp)
      return {udp, tcp: t, close: async () => { await udp.close(); await t.close() }}
    } catch (err) {
      await udp.close()
      if (i >= 10) throw err
    }
  }
}

/** A port on SERVER with nothing listening on TCP (just closed). */
async function closedTcpPort(): Promise<number> {
  const t = await tcpResponder(0, {})
  await t.close()
  return t.port
}


// ---- shared steps ----------------------------------------------------------------------------------------

/** Asks SERVER:port for www.example.test A (2 s unless told otherwise). */
const ask = (port: number, o: ExchangeOptions = {}) => exchange(SERVER, buildQuery('www.example.test', 1), {port, timeoutMs: 2000, ...o})

/** The query's ID and question, one answer promised, then three octets of garbage: it matches but does not parse. */
function malformed(q: Buffer): Buffer {
  const bad = Buffer.concat([Buffer.from(q.subarray(0, parseQuery(q).questionEnd)), Buffer.from([0xc0, 0x0c, 0x00])])
  bad.writeUInt16BE(Flag.QR, 2)
  bad.writeUInt16BE(1, 6) // ANCOUNT
  bad.writeUInt16BE(0, 10) // ARCOUNT
  return bad
}

/** Runs `fn` against a UDP responder that is closed afterwards. */
async function withUdp(onQuery: Parameters<typeof udpResponder>[0], fn: (r: UdpResponder) => Promise<void>): Promise<void> {
  const r = await udpResponder(onQuery)
  try { await fn(r) } finally { await r.close() }
}

/** Runs `fn` against a TCP responder that is closed afterwards. */
async function withTcp(o: Parameters<typeof tcpResponder>[1], fn: (t: TcpResponder) => Promise<void>): Promise<void> {
  const t = await tcpResponder(0, o)
  try { await fn(t) } finally { await t.close() }
}

/** The responder sends `bad(q)` first and the real reply (10.0.0.1) 20 ms later: the exchange must return the real one. */
function realReplyAfter(bad: (q: Buffer) => Buffer[]): Promise<void> {
  return withUdp(async (q, from, s) => {
    for (const b of bad(q)) s.send(b, from.port, from.address)
    await sleep(20)
    s.send(reply(q, {ip: '10.0.0.1'}), from.port, from.address)
  }, async (r) => assert.is(firstA(await ask(r.port)), '10.0.0.1'))
}

/** `run(timeoutMs)` must fail with kind 'timeout' no sooner than timeoutMs, and not never (5x it, for load). */
async function timesOutOnTime(run: (timeoutMs: number) => Promise<unknown>): Promise<void> {
  const timeoutMs = 600
  const started = performance.now()
  const err = await failure(() => run(timeoutMs))
  const took = performance.now() - started
  assert.is(err.kind, 'timeout')
  assert.ok(took >= timeoutMs - 20 && took < timeoutMs * 5, `timed out after ${took.toFixed(0)} ms`)
}

/** An exchange that would wait 10 s, aborted after 50 ms, fails (kind 'timeout', "aborted") well before. */
async function abortsEarly(port: number, transport: 'udp' | 'tcp'): Promise<void> {
  const ac = new AbortController()
  setTimeout(() => ac.abort(), 50)
  const started = performance.now()
  const err = await failure(() => ask(port, {transport, timeoutMs: 10_000, signal: ac.signal}))
  const took = performance.now() - started
  assert.is(err.kind, 'timeout')
  assert.match(err.message, /aborted/)
  assert.ok(took >= 40 && took < 5000, `aborted after ${took.toFixed(0)} ms, not at the 10 s timeout`)
}

/** A UDP responder that answers with TC set and no records, and a TCP one on the same port that answers 10.0.0.2. */
const truncatingPair = () => udpAndTcp(
  (q, from, sock) => sock.send(reply(q, {flags: Flag.QR | Flag.AA | Flag.TC, ip: null}), from.port, from.address),
  {onFrame: (q) => reply(q, {ip: '10.0.0.2'})},
)

// ---- buildQuery ------------------------------------------------------------------------------------------

test('buildQuery: one question, no flags by default, EDNS with UDP size 1232 and no DO', () => {
  const m = readMessage(buildQuery('www.example.test', 28))
  assert.is(m.header.flags, 0)
  assert.is(m.header.opcode, 0)
  assert.is(m.header.qdcount, 1)
  assert.is(m.header.ancount + m.header.nscount, 0)
  assert.equal(m.questions, [{name: 'www.example.test.', type: 28, class: RRClass.IN}])
  assert.ok(m.edns)
  assert.is(m.edns!.udpSize, 1232)
  assert.is(m.edns!.do, false)
  assert.is(m.edns!.version, 0)
  assert.equal(m.edns!.options, [])
  assert.is(m.header.arcount, 1) // the OPT record
})

test('buildQuery: RD, CD and the opcode land on their header bits and nowhere else', () => {
  assert.is(readMessage(buildQuery('a.test', 1, {rd: true})).header.flags, Flag.RD)
  assert.is(readMessage(buildQuery('a.test', 1, {cd: true})).header.flags, Flag.CD)
  assert.is(readMessage(buildQuery('a.test', 1, {rd: true, cd: true})).header.flags, Flag.RD | Flag.CD)
  const notify = readMessage(buildQuery('a.test', 6, {opcode: 4}))
  assert.is(notify.header.opcode, 4)
  assert.is(notify.header.flags, 4 << 11)
  assert.is(readMessage(buildQuery('a.test', 6, {opcode: 5, rd: true})).header.flags, (5 << 11) | Flag.RD)
  assert.is(readMessage(buildQuery('a.test', 1, {klass: RRClass.CH})).questions[0]!.class, RRClass.CH)
})

test('buildQuery: the given ID is used; without one the ID varies', () => {
  assert.is(buildQuery('a.test', 1, {id: 0xbeef}).readUInt16BE(0), 0xbeef)
  assert.is(buildQuery('a.test', 1, {id: 0}).readUInt16BE(0), 0)
  const ids = new Set(Array.from({length: 64}, () => buildQuery('a.test', 1).readUInt16BE(0)))
  assert.ok(ids.size > 50, `64 queries used only ${ids.size} distinct IDs`)
})

test('buildQuery: edns false writes no OPT; EDNS settings and options are encoded', () => {
  const plain = readMessage(buildQuery('a.test', 1, {edns: false}))
  assert.is(plain.edns, null)
  assert.is(plain.header.arcount, 0)
  assert.is(buildQuery('a.test', 1, {edns: false}).length, 12 + 8 + 4) // header, "\1a\4test\0", type, class
  const m = readMessage(buildQuery('a.test', 1, {edns: {udpSize: 4096, do: true, options: [Buffer.from([0, 3, 0, 0])]}}))
  assert.is(m.edns!.udpSize, 4096)
  assert.is(m.edns!.do, true)
  assert.equal(m.edns!.options.map((o) => o.code), [EdnsOption.NSID])
})

test('buildQuery: an ECS option carries family, prefix lengths and the masked address', () => {
  const m = readMessage(buildQuery('a.test', 1, {edns: {ecs: {family: 4, sourceLen: 20, scopeLen: 0, address: Buffer.from([198, 51, 100, 77])}}}))
  assert.is(m.edns!.udpSize, 1232)
  assert.ok(m.edns!.ecs)
  assert.is(m.edns!.ecs!.family, 4)
  assert.is(m.edns!.ecs!.sourceLen, 20)
  assert.is(m.edns!.ecs!.scopeLen, 0)
  assert.equal([...m.edns!.ecs!.address], [198, 51, 96, 0]) // 100 = 0110 0100 masked to /20 is 96
  assert.equal(m.edns!.options.map((o) => o.code), [EdnsOption.ECS])
  const six = readMessage(buildQuery('a.test', 28, {edns: {ecs: {family: 6, sourceLen: 56, scopeLen: 0, address: Buffer.from('20010db8aabbccdd0000000000000000', 'hex')}}}))
  assert.is(six.edns!.ecs!.family, 6)
  assert.is(six.edns!.ecs!.sourceLen, 56)
  assert.is(six.edns!.ecs!.address.toString('hex'), '20010db8aabbcc000000000000000000')
})


// ---- exchange over UDP -----------------------------------------------------------------------------------

test('udp: a plain reply is returned with its parse, transport, server and port', async () => {
  let sent: Buffer | null = null
  await withUdp((q, from, s) => { sent = reply(q); s.send(sent, from.port, from.address) }, async (r) => {
    const q = buildQuery('www.example.test', 1, {id: 4242})
    const res = await exchange(SERVER, q, {port: r.port, timeoutMs: 2000})
    assert.is(res.transport, 'udp')
    assert.is(res.server, SERVER)
    assert.is(res.port, r.port)
    assert.ok(res.response.equals(sent!))
    assert.is(res.message.header.id, 4242)
    assert.is(firstA(res), '192.0.2.1')
    assert.ok(res.rttMs >= 0 && res.rttMs < 2000)
    assert.ok(r.seen.length === 1 && r.seen[0]!.size === q.length)
  })
})

test('udp: a reply with the wrong ID is ignored and the right one accepted', () =>
  realReplyAfter((q) => [reply(q, {id: (q.readUInt16BE(0) + 1) & 0xffff, ip: '10.0.0.66'})]))

test('udp: a message without QR (a query, not a reply) is ignored', () =>
  realReplyAfter((q) => [reply(q, {flags: 0, ip: '10.0.0.66'})]))

test('udp: a reply to a different question (name or type) is ignored (RFC 5452)', () =>
  realReplyAfter((q) => [
    reply(q, {qname: 'wwx.example.test.', ip: '10.0.0.66'}),
    reply(q, {qname: 'www.example.test.evil.', ip: '10.0.0.67'}),
    reply(q, {qtype: 28, ip: '10.0.0.68'}),
  ]))

test('udp: garbage that does not match the query (shorter than a header, right ID) is ignored', () =>
  realReplyAfter((q) => [Buffer.from([q[0]!, q[1]!, 0x80])]))

test('udp: the question is compared without regard to case (0x20)', () =>
  withUdp((q, from, s) => s.send(reply(q, {qname: 'WwW.ExAmPlE.TEST.', ip: '10.0.0.1'}), from.port, from.address), async (r) => {
    const res = await ask(r.port)
    assert.is(firstA(res), '10.0.0.1')
    assert.is(res.message.questions[0]!.name, 'www.example.test.')
  }))

test('udp: a reply without a question section (FORMERR) is accepted', () =>
  withUdp((q, from, s) => {
    const w = new MessageWriter(16)
    w.header(q.readUInt16BE(0), Flag.QR | 1, 0, 0, 0, 0)
    s.send(w.finish(), from.port, from.address)
  }, async (r) => {
    const res = await ask(r.port)
    assert.is(res.message.rcode, 1)
    assert.equal(res.message.questions, [])
  }))

test('udp: replies from another source port or another address are ignored', async () => {
  const otherPort = await udpResponder(() => {}) // same address, another port
  let otherAddr: UdpResponder | null = null // another address, same port
  const r = await udpResponder(async (q, from, s) => {
    otherPort.sock.send(reply(q, {ip: '10.0.0.66'}), from.port, from.address)
    otherAddr!.sock.send(reply(q, {ip: '10.0.0.67'}), from.port, from.address)
    await sleep(30)
    s.send(reply(q, {ip: '10.0.0.1'}), from.port, from.address)
  })
  try {
    otherAddr = await udpResponder(() => {}, OTHER, r.port)
    assert.is(firstA(await ask(r.port)), '10.0.0.1')
  } finally {
    await r.close()
    await otherPort.close()
    await otherAddr?.close()
  }
})

test('udp: no reply is a timeout after about timeoutMs', () =>
  withUdp(() => {}, async (r) => {
    await timesOutOnTime((timeoutMs) => ask(r.port, {timeoutMs}))
    assert.is(r.seen.length, 1)
  }))

test('udp: only ignored replies still end in a timeout', () =>
  withUdp((q, from, s) => s.send(reply(q, {id: q.readUInt16BE(0) ^ 1}), from.port, from.address), async (r) => {
    assert.is((await failure(() => ask(r.port, {timeoutMs: 250}))).kind, 'timeout')
  }))

test('udp: the query is sent from the given source address', () =>
  withUdp((q, from, s) => s.send(reply(q), from.port, from.address), async (r) => {
    assert.is(firstA(await ask(r.port, {source: CLIENT})), '192.0.2.1')
    assert.is(r.seen[0]!.address, CLIENT)
    assert.is(firstA(await ask(r.port, {source: OTHER})), '192.0.2.1')
    assert.is(r.seen[1]!.address, OTHER)
  }))

test('udp: a reply with TC set is asked again over TCP, from the same source address', async () => {
  const s = await truncatingPair()
  try {
    const res = await ask(s.udp.port, {source: CLIENT})
    assert.is(res.transport, 'tcp')
    assert.is(firstA(res), '10.0.0.2')
    assert.is(res.message.header.flags & Flag.TC, 0)
    assert.is(s.udp.seen.length, 1)
    assert.equal(s.tcp.peers, [CLIENT])
  } finally {
    await s.close()
  }
})

test('udp: with tcpFallback false the truncated UDP reply is returned as it is', async () => {
  const s = await truncatingPair()
  try {
    const res = await ask(s.udp.port, {tcpFallback: false})
    assert.is(res.transport, 'udp')
    assert.ok(res.message.header.flags & Flag.TC)
    assert.equal(res.message.answers, [])
    await sleep(20)
    assert.equal(s.tcp.peers, [])
  } finally {
    await s.close()
  }
})

test('udp: a matching reply that does not parse is a malformed error at once, not ignored', () =>
  withUdp((q, from, s) => s.send(malformed(q), from.port, from.address), async (r) => {
    const started = performance.now()
    assert.is((await failure(() => ask(r.port, {timeoutMs: 10_000}))).kind, 'malformed')
    assert.ok(performance.now() - started < 5000, 'the malformed reply ended the exchange, not the 10 s timeout')
  }))

test('udp: an AbortSignal ends the exchange early', () => withUdp(() => {}, (r) => abortsEarly(r.port, 'udp')))

test('udp and tcp: a signal that is already aborted fails the exchange at once, sending nothing', async () => {
  const s = await udpAndTcp(() => {}, {onConnection: () => {}})
  try {
    for (const transport of ['udp', 'tcp'] as const) {
      const started = performance.now()
      const err = await failure(() => ask(s.udp.port, {transport, timeoutMs: 10_000, signal: AbortSignal.abort()}))
      assert.match(err.message, /aborted/)
      assert.ok(performance.now() - started < 5000, `${transport}: an aborted signal was ignored`)
    }
    await sleep(20)
    assert.is(s.udp.seen.length, 0, 'no query went out')
    assert.equal(s.tcp.peers, [])
  } finally {
    await s.close()
  }
})

// ---- exchange over TCP -----------------------------------------------------------------------------------

test('tcp: a framed reply is returned, from the given source address', async () => {
  let sent: Buffer | null = null
  await withTcp({onFrame: (q) => (sent = reply(q, {ip: '10.0.0.3'}))}, async (t) => {
    const res = await ask(t.port, {transport: 'tcp', source: CLIENT})
    assert.is(res.transport, 'tcp')
    assert.is(res.server, SERVER)
    assert.is(res.port, t.port)
    assert.ok(res.response.equals(sent!))
    assert.is(firstA(res), '10.0.0.3')
    assert.equal(t.peers, [CLIENT])
  })
})

test('tcp: a reply split across segments is reassembled; non-matching messages before it are skipped', () =>
  withTcp({onConnection: (conn) => {
    conn.once('data', async (chunk) => {
      const q = chunk.subarray(2)
      // A frame for another ID and the start of the right one in one write, the rest later in pieces.
      const good = frame(reply(q, {ip: '10.0.0.4'}))
      conn.write(Buffer.concat([frame(reply(q, {id: q.readUInt16BE(0) ^ 0x8000, ip: '10.0.0.66'})), good.subarray(0, 1)]))
      await sleep(20)
      conn.write(good.subarray(1, 9))
      await sleep(20)
      conn.write(good.subarray(9))
    })
  }}, async (t) => assert.is(firstA(await ask(t.port, {transport: 'tcp'})), '10.0.0.4')))

test('tcp: a non-matching message and the reply in one segment: the reply is still found', () =>
  withTcp({onFrame: (q) => [reply(q, {qname: 'other.example.test.', ip: '10.0.0.66'}), reply(q, {ip: '10.0.0.5'})]},
    async (t) => assert.is(firstA(await ask(t.port, {transport: 'tcp'})), '10.0.0.5')))

test('tcp: a server that accepts and never answers is a timeout after about timeoutMs', () =>
  withTcp({onConnection: () => {}}, (t) => timesOutOnTime((timeoutMs) => ask(t.port, {transport: 'tcp', timeoutMs}))))

test('tcp: a server that closes the connection without answering is a network error, at once', async () => {
  let got: Buffer | null = null
  await withTcp({onConnection: (conn) => conn.once('data', (chunk) => { got = chunk; conn.end() })}, async (t) => {
    const q = buildQuery('www.example.test', 1)
    const started = performance.now()
    const err = await failure(() => exchange(SERVER, q, {port: t.port, transport: 'tcp', timeoutMs: 10_000}))
    assert.is(err.kind, 'network')
    assert.ok(performance.now() - started < 5000, 'ended by the close, not the 10 s timeout')
    assert.ok(got!.equals(frame(q)), 'the query went out with its two-octet length')
  })
})

test('tcp: a refused connection is a network error', async () => {
  const port = await closedTcpPort()
  assert.is((await failure(() => ask(port, {transport: 'tcp'}))).kind, 'network')
})

test('tcp: a matching reply that does not parse is a malformed error', () =>
  withTcp({onFrame: malformed}, async (t) => assert.is((await failure(() => ask(t.port, {transport: 'tcp'}))).kind, 'malformed')))

test('tcp: an AbortSignal ends the exchange early', () => withTcp({onConnection: () => {}}, (t) => abortsEarly(t.port, 'tcp')))

// ---- exchangeTcpStream -----------------------------------------------------------------------------------

/** A stream responder: answers the query with `n` messages (the i-th carrying 10.9.0.i), in awkward chunks. */
function streamServer(n: number, o: {closeAfter?: boolean} = {}) {
  return tcpResponder(0, {onConnection: (conn) => {
    conn.once('data', async (chunk) => {
      const q = chunk.subarray(2)
      const all = Buffer.concat(Array.from({length: n}, (_, i) => frame(reply(q, {ip: `10.9.0.${i}`}))))
      // Two messages and a half in the first write, the rest a little later.
      const cut = Math.floor(all.length / n * 2.5)
      conn.write(all.subarray(0, cut))
      await sleep(20)
      conn.write(all.subarray(cut))
      if (o.closeAfter) conn.end()
    })
  }})
}

test('exchangeTcpStream: messages are read in order until isLast says stop', async () => {
  const t = await streamServer(5)
  try {
    const indexes: number[] = []
    const q = buildQuery('zone.test', 252, {edns: false})
    const msgs = await exchangeTcpStream(SERVER, q, (msg, i) => { indexes.push(i); return readMessage(msg).answers[0]!.data === '10.9.0.3' }, {port: t.port, timeoutMs: 2000})
    assert.is(msgs.length, 4)
    assert.equal(msgs.map((m) => readMessage(m).answers[0]!.data), ['10.9.0.0', '10.9.0.1', '10.9.0.2', '10.9.0.3'])
    assert.equal(indexes, [0, 1, 2, 3])
  } finally {
    await t.close()
  }
})

test('exchangeTcpStream: a stream that ends before isLast is a network error', async () => {
  const t = await streamServer(3, {closeAfter: true})
  try {
    const err = await failure(() => exchangeTcpStream(SERVER, buildQuery('zone.test', 252), () => false, {port: t.port, timeoutMs: 2000}))
    assert.is(err.kind, 'network')
    assert.match(err.message, /early/)
  } finally {
    await t.close()
  }
})

test('exchangeTcpStream: a stream that stalls times out; an isLast that throws rejects with its error', async () => {
  const t = await streamServer(2)
  try {
    await timesOutOnTime((timeoutMs) => exchangeTcpStream(SERVER, buildQuery('zone.test', 252), () => false, {port: t.port, timeoutMs}))
    try {
      await exchangeTcpStream(SERVER, buildQuery('zone.test', 252), (_m, i) => { if (i === 1) throw new Error('bad serial'); return false }, {port: t.port, timeoutMs: 2000})
      assert.unreachable('isLast threw')
    } catch (e) {
      assert.not.instance(e, ExchangeError)
      assert.is((e as Error).message, 'bad serial')
    }
  } finally {
    await t.close()
  }
})

test.run()
