// observeAnswers: every way a handler answers is counted once with its rcode and timed; failures count as SERVFAIL.
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {buildQuery} from '../../src/dns/client.js'
import type {Handler, Request, ResponseWriter} from '../../src/dns/handler.js'
import {PreparedAnswer} from '../../src/dns/response.js'
import {Rcode, RRType} from '../../src/dns/wire/constants.js'
import {parseQuery} from '../../src/dns/wire/reader.js'
import {createMetrics} from '../../src/observe/metrics.js'
import {observeAnswers} from '../../src/observe/observe-answers.js'

const sink: ResponseWriter = {prepared() {}, reply() {}, raw() {}, stream() {}, drop() {}}

function request(type: number): Request {
  const message = buildQuery('www.example.test.', type)
  return {query: parseQuery(message), message, client: {address: '127.0.0.1', port: 5353, family: 4}, local: {address: '127.0.0.1', port: 53}, transport: 'udp', limit: 1232}
}

test('each writer method is counted with its rcode and qtype label, and timed', async () => {
  const m = createMetrics({processMetrics: false})
  const p = new PreparedAnswer('www.example.test.', RRType.A, {rcode: Rcode.NOERROR, aa: true, answer: [{name: 'www.example.test.', type: RRType.A, ttl: 5, data: '192.0.2.1'}]})
  const raw = Buffer.alloc(12)
  raw[3] = Rcode.NOTAUTH
  const answers: ((w: ResponseWriter) => void | Promise<void>)[] = [
    (w) => w.prepared(p),
    (w) => w.reply({rcode: Rcode.NXDOMAIN}),
    (w) => w.raw(raw),
    (w) => w.drop(),
    async (w) => { await new Promise((r) => setTimeout(r, 5)); w.reply({rcode: Rcode.REFUSED}) },
  ]
  for (const [i, answer] of answers.entries()) {
    const h = observeAnswers({serveDNS: (_req, w) => answer(w)}, m.forRole('t'))
    await h.serveDNS(request(i === 4 ? 4242 : RRType.A), sink)
  }
  const body = await m.registry.metrics()
  for (const [qtype, rcode] of [['A', 'NOERROR'], ['A', 'NXDOMAIN'], ['A', 'NOTAUTH'], ['A', 'DROPPED'], ['OTHER', 'REFUSED']]) {
    assert.match(body, new RegExp(`^dns_queries_total\\{role="t",qtype="${qtype}",rcode="${rcode}"\\} 1$`, 'm'), `${qtype} ${rcode}`)
  }
  assert.match(body, /^dns_answer_seconds_count\{role="t"\} 5$/m)
  // The async answer took >= 5 ms: it lands above the 5 ms bucket boundary's lower neighbours.
  assert.match(body, /^dns_answer_seconds_bucket\{le="0.0025",role="t"\} 4$/m)
})

test('a handler that throws or rejects is counted as SERVFAIL once, and the error still reaches the server', async () => {
  const m = createMetrics({processMetrics: false})
  const throwing: Handler = {serveDNS() { throw new Error('boom') }}
  const rejecting: Handler = {serveDNS: async () => { throw new Error('late boom') }}
  assert.throws(() => observeAnswers(throwing, m.forRole('t')).serveDNS(request(RRType.A), sink), /boom/)
  try {
    await observeAnswers(rejecting, m.forRole('t')).serveDNS(request(RRType.A), sink)
    assert.unreachable('rejects')
  } catch (err) {
    assert.match(String(err), /late boom/)
  }
  const body = await m.registry.metrics()
  assert.match(body, /^dns_queries_total\{role="t",qtype="A",rcode="SERVFAIL"\} 2$/m)
})

test('count: false only times (a role that counts its own queries is not counted twice)', async () => {
  const m = createMetrics({processMetrics: false})
  await observeAnswers({serveDNS: (_r, w) => w.reply({rcode: 0})}, m.forRole('lb'), {count: false}).serveDNS(request(RRType.A), sink)
  const body = await m.registry.metrics()
  assert.not.match(body, /^dns_queries_total\{/m)
  assert.match(body, /^dns_answer_seconds_count\{role="lb"\} 1$/m)
})

test('beforeScrape callbacks run before the metrics are read', async () => {
  const m = createMetrics({processMetrics: false})
  let n = 0
  const hits = m.hot(m.cacheHits)
  m.beforeScrape(() => { n++; hits.inc(7); m.mappings.set(n) })
  const body = await m.registry.metrics()
  assert.is(n, 1)
  assert.match(body, /^cache_hits_total 7$/m)
  assert.match(body, /^mappings 1$/m)
})

test.run()
