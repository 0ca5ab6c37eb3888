// Interop with dig and kdig: they verify what signResponse() and createStreamSigner() sign, and flag what is wrong.
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {createSocket} from 'node:dgram'
import type {Socket as UdpSocket} from 'node:dgram'
import {createServer} from 'node:net'
import type {AddressInfo, Server, Socket} from 'node:net'
import dnsPacket from 'dns-packet'
import {findTsigOffset, sign, signResponse, tsigErrorResponse, verify} from '../../../src/dns/tsig/tsig.js'
import type {VerifyOk, VerifyResult} from '../../../src/dns/tsig/tsig.js'
import {createStreamSigner} from '../../../src/dns/tsig/tsig-stream.js'
import {createKeyring, createTsigKey, parseKeySpec} from '../../../src/dns/tsig/tsig-keyring.js'
import {requires} from '../../helpers/env.js'
import {runTool} from '../../helpers/run-tool.js'

const SECRET = Buffer.from('glb dig interop secret, 32 bytes').toString('base64')
const KEY = parseKeySpec(`hmac-sha256:k1:${SECRET}`)
const WRONG_KEY = createTsigKey('k1', 'hmac-sha256', Buffer.from('not the secret dig was given....'))
const RING = createKeyring([KEY])
const ADDRESS = '127.0.0.77'
const withDig = requires(['dig'], test)
const withKdig = requires(['kdig'], test)

const SOA = {
  name: 'example.test', type: 'SOA', class: 'IN', ttl: 60,
  data: {mname: 'ns.example.test', rname: 'hostmaster.example.test', serial: 7, refresh: 60, retry: 60, expire: 600, minimum: 60},
} as const

/** How the responder answers a query that verified: the answer message built, and the request's result. */
type Answer = (query: Buffer, verified: VerifyOk) => Buffer
/** How the responder answers an AXFR: the framed messages to write, given the unsigned messages. */
type Transfer = (messages: Buffer[], verified: VerifyOk) => Buffer[]

interface Responder {
  port: number
  seen: VerifyResult[]
  close(): Promise<void>
}

/**
 * A UDP+TCP responder on one loopback port that verifies each query's TSIG, answers SOA over UDP with
 * `answer` and AXFR over TCP with `transfer`; a query that fails verification gets tsigErrorResponse().
 */
async function startResponder(answer: Answer, transfer: Transfer): Promise<Responder> {
  const seen: VerifyResult[] = []
  const conns = new Set<Socket>()
  const tcp: Server = createServer((conn) => {
    conns.add(conn)
    conn.on('close', () => conns.delete(conn))
    conn.on('error', () => {})
    let buf = Buffer.alloc(0)
    conn.on('data', (d) => {
      buf = Buffer.concat([buf, d])
      if (buf.length < 2 || buf.length < 2 + buf.readUInt16BE(0)) return
      const query = buf.subarray(2, 2 + buf.readUInt16BE(0))
      const v = verify(query, findTsigOffset(query), RING)
      seen.push(v)
      const out = v.ok ? transfer(axfrMessages(query.readUInt16BE(0)), v) : [tsigErrorResponse(replyHeader(query), v)]
      for (const m of out) conn.write(Buffer.concat([u16(m.length), m]))
      conn.end()
    })
  })
  await new Promise<void>((resolve, reject) => {
    tcp.once('error', reject)
    tcp.listen(0, ADDRESS, resolve)
  })
  const port = (tcp.address() as AddressInfo).port
  const udp: UdpSocket = createSocket('udp4')
  udp.on('message', (query, rinfo) => {
    const v = verify(query, findTsigOffset(query), RING)
    seen.push(v)
    const out = v.ok ? answer(query, v) : tsigErrorResponse(replyHeader(query), v)
    udp.send(out, rinfo.port, rinfo.address)
  })
  try {
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject)
      udp.bind(port, ADDRESS, resolve)
    })
  } catch (e) {
    tcp.close()
    throw e
  }
  return {
    port,
    seen,
    async close() {
      for (const c of conns) c.destroy()
      await Promise.all([new Promise((r) => tcp.close(r)), new Promise((r) => udp.close(() => r(null)))])
    },
  }
}

/** The SOA answer for a query dig sent for example.test SOA (dns-packet is fine for building). */
function soaAnswer(query: Buffer): Buffer {
  return dnsPacket.encode({
    type: 'response', id: query.readUInt16BE(0), flags: 0x8400 | (query[2]! & 0x01) << 8,
    questions: [{name: 'example.test', type: 'SOA', class: 'IN'}], answers: [SOA],
  } as dnsPacket.Packet)
}

/** A three-message AXFR of example.test: SOA + a, then b, then the closing SOA (RFC 5936 §2.2). */
function axfrMessages(id: number): Buffer[] {
  const a = (n: string, ip: string) => ({name: `${n}.example.test`, type: 'A', class: 'IN', ttl: 60, data: ip}) as const
  const msg = (questions: dnsPacket.Question[], answers: dnsPacket.Answer[]) =>
    dnsPacket.encode({type: 'response', id, flags: 0x8400, questions, answers} as dnsPacket.Packet)
  return [
    msg([{name: 'example.test', type: 'AXFR', class: 'IN'}], [SOA, a('a', '127.0.0.1')]),
    msg([], [a('b', '127.0.0.2')]),
    msg([], [SOA]),
  ]
}

/** A header-only reply to a query: same ID, QR set, no records; tsigErrorResponse sets the RCODE. */
function replyHeader(query: Buffer): Buffer {
  const h = Buffer.alloc(12)
  query.copy(h, 0, 0, 4)
  h[2] = 0x80 | (query[2]! & 0x79)
  return h
}

function flipMacByte(signed: Buffer): Buffer {
  const out = Buffer.from(signed)
  // The MAC ends 6 bytes before the end (Original ID, Error, Other Len follow it).
  out[out.length - 7] = out[out.length - 7]! ^ 0x01
  return out
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2)
  b.writeUInt16BE(n)
  return b
}

const chained: Transfer = (messages, v) => {
  const s = createStreamSigner(v.key, v.mac)
  return messages.map((m) => s.sign(m).message)
}

async function dig(port: number, qtype: string, secret = SECRET): Promise<string> {
  const run = await runTool('dig', ['-y', `hmac-sha256:k1:${secret}`, `@${ADDRESS}`, '-p', String(port), '+tries=1', '+time=3', 'example.test', qtype])
  assert.not.ok(run.timedOut, 'dig hung')
  return run.stdout + run.stderr
}

// dig prints this for a response whose TSIG it could not verify, and keeps going.
const DIG_TSIG_FAILURE = /Couldn't verify signature|tsig verify failure|Some TSIG could not be validated/

withDig.test('dig SOA: our signed answer verifies; a wrong key, a flipped MAC or a missing request MAC do not', async () => {
  const cases: Array<[string, Answer, boolean]> = [
    ['signResponse', (q, v) => signResponse(soaAnswer(q), v).message, true],
    ['signed with another secret', (q, v) => sign(soaAnswer(q), WRONG_KEY, {requestMac: v.mac}).message, false],
    ['MAC bit flipped', (q, v) => flipMacByte(signResponse(soaAnswer(q), v).message), false],
    ['request MAC not chained', (q) => sign(soaAnswer(q), KEY).message, false],
  ]
  for (const [name, answer, good] of cases) {
    const r = await startResponder(answer, chained)
    try {
      const out = await dig(r.port, 'SOA')
      assert.is(r.seen.length, 1, `${name}: dig sent one query\n${out}`)
      assert.ok(r.seen[0]!.ok, `${name}: dig's signed query verified`)
      assert.match(out, /status: NOERROR/, name)
      assert.match(out, /example\.test\.\s+60\s+IN\s+SOA\s+ns\.example\.test\./, name)
      if (good) assert.not.match(out, DIG_TSIG_FAILURE, `${name}: dig rejected our signature\n${out}`)
      else assert.match(out, DIG_TSIG_FAILURE, `${name}: dig accepted a bad signature\n${out}`)
    } finally {
      await r.close()
    }
  }
})

withDig.test('dig with the wrong secret gets our unsigned BADSIG/NOTAUTH reply', async () => {
  const r = await startResponder((q, v) => signResponse(soaAnswer(q), v).message, chained)
  try {
    const out = await dig(r.port, 'SOA', Buffer.from('dig has the wrong secret here :-').toString('base64'))
    const v = r.seen[0]
    assert.ok(v && !v.ok && v.error === 'BADSIG', 'our side saw BADSIG')
    assert.match(out, /status: NOTAUTH/)
    // dig prints the unsigned TSIG: MAC size 0 and the BADSIG error.
    assert.match(out, /k1\.\s+0\s+ANY\s+TSIG\s+hmac-sha256\.\s+\d+\s+300\s+0\s+\d+\s+BADSIG\s+0/)
  } finally {
    await r.close()
  }
})

withDig.test('dig AXFR: a chained 3-message transfer verifies; any flipped MAC or an unchained message fails', async () => {
  const corrupt = (i: number): Transfer => (ms, v) => chained(ms, v).map((m, j) => (j === i ? flipMacByte(m) : m))
  const cases: Array<[string, Transfer, boolean]> = [
    ['createStreamSigner', chained, true],
    ['MAC of message 1 flipped', corrupt(0), false],
    ['MAC of message 2 flipped', corrupt(1), false],
    ['MAC of message 3 flipped', corrupt(2), false],
    // Signing every message as a full response (RFC 8945 §4.3) instead of with prior MAC + timers (§5.3.1).
    ['messages signed standalone', (ms, v) => ms.map((m) => sign(m, v.key, {requestMac: v.mac}).message), false],
  ]
  for (const [name, transfer, good] of cases) {
    const r = await startResponder((q, v) => signResponse(soaAnswer(q), v).message, transfer)
    try {
      const out = await dig(r.port, 'AXFR')
      assert.ok(r.seen[0]?.ok, `${name}: dig's AXFR query verified`)
      assert.match(out, /XFR size: 4 records \(messages 3/, `${name}\n${out}`)
      if (good) assert.not.match(out, DIG_TSIG_FAILURE, `${name}: dig rejected the transfer\n${out}`)
      else assert.match(out, DIG_TSIG_FAILURE, `${name}: dig accepted a bad transfer\n${out}`)
    } finally {
      await r.close()
    }
  }
})

// kdig (Knot) as a second, independent implementation. It verifies plain responses and, for AXFR, only the
// first message (seen with kdig 3.2), so the transfer itself is proven with dig above.
withKdig.test('kdig SOA: our signed answer verifies; a flipped MAC does not', async () => {
  for (const [name, answer, good] of [
    ['signResponse', (q: Buffer, v: VerifyOk) => signResponse(soaAnswer(q), v).message, true],
    ['MAC bit flipped', (q: Buffer, v: VerifyOk) => flipMacByte(signResponse(soaAnswer(q), v).message), false],
  ] as const) {
    const r = await startResponder(answer, chained)
    try {
      const run = await runTool('kdig', ['-y', `hmac-sha256:k1:${SECRET}`, `@${ADDRESS}`, '-p', String(r.port), '+retry=0', '+time=3', 'example.test', 'SOA'])
      const out = run.stdout + run.stderr
      assert.ok(r.seen[0]?.ok, `${name}: kdig's signed query verified`)
      assert.match(out, /status: NOERROR/, name)
      if (good) assert.not.match(out, /failed to verify TSIG/, `${name}\n${out}`)
      else assert.match(out, /failed to verify TSIG/, `${name}\n${out}`)
    } finally {
      await r.close()
    }
  }
})

test.run()
