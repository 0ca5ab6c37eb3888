// Response rate limiting: N answers a second per /24 (/56), then every slip-th answer truncated and empty and the
// rest dropped; TCP, exempt clients and requests it does not apply to are never limited; memory is bounded.
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import dgram from 'node:dgram'
import {buildQuery, exchange} from '../../src/dns/client.js'
import type {Handler, Request, ResponseWriter} from '../../src/dns/handler.js'
import {rateLimit, type RateLimitOptions} from '../../src/dns/rate-limit.js'
import {Flag, Rcode, RRType} from '../../src/dns/wire/constants.js'
import {parseQuery, readMessage} from '../../src/dns/wire/reader.js'
import {runLocalServer} from '../helpers/servers.js'

const answering: Handler = {
  serveDNS: (req, w) => w.reply({rcode: Rcode.NOERROR, aa: true, answer: [{name: req.query.qname, type: RRType.TXT, ttl: 0, data: ['x'.repeat(200)]}]}),
}

/** Sends `n` queries from `source` in one burst and collects what comes back within 300 ms. */
async function burst(address: string, port: number, source: string, n: number): Promise<Buffer[]> {
  const s = dgram.createSocket('udp4')
  const got: Buffer[] = []
  s.on('message', (b) => got.push(b))
  await new Promise<void>((r) => s.bind(0, source, () => r()))
  for (let i = 0; i < n; i++) s.send(buildQuery('www.example.test.', RRType.TXT, {id: i, edns: false}), port, address)
  await new Promise((r) => setTimeout(r, 300))
  await new Promise<void>((r) => s.close(() => r()))
  return got
}

test('over UDP: N full answers, then every 2nd truncated and empty, the rest dropped; per /24; refilled with time', async () => {
  let now = 0
  const limited = rateLimit(answering, {responsesPerSecond: 10, slip: 2, now: () => now})
  const s = await runLocalServer(limited, {address: '127.92.0.1'})
  try {
    const got = await burst(s.address, s.port, '127.92.1.1', 30)
    const full = got.filter((b) => !(b.readUInt16BE(2) & Flag.TC))
    const slips = got.filter((b) => b.readUInt16BE(2) & Flag.TC)
    assert.is(full.length, 10)
    assert.is(slips.length, 10)
    assert.equal(limited.stats, {passed: 10, slipped: 10, dropped: 10, tracked: 1})
    for (const b of slips) {
      const m = readMessage(b)
      assert.ok(m.header.qr && m.header.flags & Flag.TC)
      assert.is(m.questions[0]!.name, 'www.example.test.')
      assert.is(m.answers.length + m.authorities.length + m.additionals.length, 0)
      assert.ok(b.length <= buildQuery('www.example.test.', RRType.TXT, {edns: false}).length, 'a slip is never larger than the query')
    }
    // Another host of the same /24 shares the budget; another /24 has its own.
    assert.is((await burst(s.address, s.port, '127.92.1.2', 4)).filter((b) => !(b.readUInt16BE(2) & Flag.TC)).length, 0)
    assert.is((await burst(s.address, s.port, '127.92.2.1', 4)).filter((b) => !(b.readUInt16BE(2) & Flag.TC)).length, 4)
    // TCP is never limited: a client told to retry there gets its answer.
    const tcp = await exchange(s.address, buildQuery('www.example.test.', RRType.TXT), {port: s.port, source: '127.92.1.1', transport: 'tcp'})
    assert.is(tcp.message.answers.length, 1)
    now += 500 // half a second: five more
    assert.is((await burst(s.address, s.port, '127.92.1.1', 8)).filter((b) => !(b.readUInt16BE(2) & Flag.TC)).length, 5)
  } finally {
    await s.close()
  }
})

/** A request as the server would hand it, from `address`. */
function request(address: string, family: 4 | 6, qname = 'www.example.test.'): Request {
  const message = buildQuery(qname, RRType.A, {edns: false})
  return {query: parseQuery(message), message, client: {address, port: 1, family}, local: {address: '127.0.0.1', port: 53}, transport: 'udp', limit: 512}
}

function count(limited: Handler, reqs: Request[]): {answered: number; slipped: number; dropped: number} {
  const out = {answered: 0, slipped: 0, dropped: 0}
  const w: ResponseWriter = {prepared() {}, reply: () => { out.answered++ }, raw: () => { out.slipped++ }, stream() {}, drop: () => { out.dropped++ }}
  for (const r of reqs) void limited.serveDNS(r, w)
  return out
}

test('IPv6 clients are grouped by /56 (IPv4-mapped ones arrive unmapped: test/dns/unmap-ipv4.test.ts); slip 0 drops all, slip 1 truncates all', () => {
  const o = (extra: Partial<RateLimitOptions>): RateLimitOptions => ({responsesPerSecond: 2, slip: 2, now: () => 0, ...extra})
  const v6 = rateLimit(answering, o({}))
  const same56 = ['2001:db8:0:ab00::1', '2001:db8:0:abff::2', '2001:db8:0:ab12:1:2:3:4']
  assert.equal(count(v6, same56.map((a) => request(a, 6))), {answered: 2, slipped: 0, dropped: 1})
  assert.equal(count(v6, [request('2001:db8:0:ac00::1', 6)]), {answered: 1, slipped: 0, dropped: 0}, 'the next /56')
  assert.equal(count(rateLimit(answering, o({slip: 0})), Array.from({length: 6}, () => request('192.0.2.1', 4))), {answered: 2, slipped: 0, dropped: 4})
  assert.equal(count(rateLimit(answering, o({slip: 1})), Array.from({length: 6}, () => request('192.0.2.1', 4))), {answered: 2, slipped: 4, dropped: 0})
})

test('exempt clients and requests it does not apply to pass; the number of tracked prefixes is bounded', () => {
  const limited = rateLimit(answering, {
    responsesPerSecond: 1, slip: 2, now: () => 0, maxTracked: 100,
    exempt: (a) => a.startsWith('10.'), applies: (req) => req.query.qname.endsWith('.limited.test.'),
  })
  assert.equal(count(limited, Array.from({length: 5}, () => request('10.0.0.1', 4, 'a.limited.test.'))), {answered: 5, slipped: 0, dropped: 0})
  assert.equal(count(limited, Array.from({length: 5}, () => request('192.0.2.1', 4, 'other.test.'))), {answered: 5, slipped: 0, dropped: 0})
  assert.equal(count(limited, Array.from({length: 3}, () => request('192.0.2.1', 4, 'a.limited.test.'))), {answered: 1, slipped: 1, dropped: 1})
  for (let i = 0; i < 5000; i++) count(limited, [request(`198.${(i >> 8) & 255}.${i & 255}.1`, 4, 'a.limited.test.')])
  assert.ok(limited.stats.tracked <= 100, `tracked ${limited.stats.tracked}`)
})

test.run()
