// Responses: a PreparedAnswer renders exactly what per-query encoding would, and both truncate per RFC 6891.
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import dnsPacket from 'dns-packet'
import {PreparedAnswer, encodeResponse, encodeError, udpLimit, type ResponseSpec} from '../../src/dns/response.js'
import {buildQuery} from '../../src/dns/client.js'
import {parseQuery, readMessage} from '../../src/dns/wire/reader.js'
import {Flag} from '../../src/dns/wire/constants.js'

const spec: ResponseSpec = {
  rcode: 0, aa: true,
  answer: [{name: 'www.example.test', type: 1, ttl: 60, data: '192.0.2.1'}, {name: 'www.example.test', type: 1, ttl: 60, data: '192.0.2.2'}],
  authority: [{name: 'example.test', type: 2, ttl: 300, data: 'ns1.example.test'}],
  additional: [{name: 'ns1.example.test', type: 1, ttl: 300, data: '192.0.2.53'}],
}
const manyA = (n: number): ResponseSpec => ({rcode: 0, aa: true,
  answer: Array.from({length: n}, (_, i) => ({name: 'big.example.test', type: 1, ttl: 60, data: `10.0.${i >> 8}.${i & 255}`}))})

// Random 0x20 spelling of a name.
const spelling = (name: string) => fc.array(fc.boolean(), {minLength: name.length, maxLength: name.length})
  .map((up) => [...name].map((c, i) => (up[i] ? c.toUpperCase() : c)).join(''))

test('prepared answers are byte-identical to per-query encoding, whatever the ID, flags, case and DO', () => {
  const p = new PreparedAnswer('www.example.test.', 1, spec)
  fc.assert(fc.property(spelling('www.example.test'), fc.integer({min: 0, max: 0xffff}), fc.boolean(), fc.boolean(),
    fc.option(fc.record({udpSize: fc.integer({min: 0, max: 65535}), do: fc.boolean()}), {nil: undefined}), (name, id, rd, cd, edns) => {
      const query = buildQuery(name, 1, {id, rd, cd, edns: edns ?? false})
      const q = parseQuery(query)
      const limit = udpLimit(q)
      const rendered = p.render(query, q, limit)
      const encoded = encodeResponse(q, query, spec, limit, q.edns ? {udpSize: 1232, do: q.edns.do} : null)
      assert.equal(rendered, encoded)
      const m = readMessage(rendered)
      assert.is(m.header.id, id)
      assert.is(Boolean(m.header.flags & Flag.RD), rd)
      assert.is(Boolean(m.header.flags & Flag.CD), cd)
      assert.is(Boolean(m.header.flags & Flag.AA), true)
      assert.equal(rendered.subarray(12, q.qnameEnd), query.subarray(12, q.qnameEnd), 'question bytes kept')
      assert.is(m.edns?.do ?? false, edns?.do ?? false)
    }), {numRuns: 500})
})

const referral: ResponseSpec = {rcode: 0, aa: false,
  authority: [{name: 'glb.example.test', type: 2, ttl: 300, data: 'b1.glb.example.test'}, {name: 'glb.example.test', type: 2, ttl: 300, data: 'b2.glb.example.test'}],
  additional: [{name: 'b1.glb.example.test', type: 1, ttl: 300, data: '127.0.0.20'}, {name: 'b2.glb.example.test', type: 1, ttl: 300, data: '127.0.0.21'}]}
const nxdomain: ResponseSpec = {rcode: 3, aa: true, authority: [{name: 'example.test', type: 6, ttl: 60,
  data: {mname: 'ns1.example.test', rname: 'hostmaster.example.test', serial: 7, refresh: 1, retry: 2, expire: 3, minimum: 60}}]}
const label = fc.stringMatching(/^[A-Za-z0-9-]{1,63}$/)

test('an answer for any name reads the same as per-query encoding, for names of every length up to 255', () => {
  const answers = [[referral, PreparedAnswer.forAnyName(referral)], [nxdomain, PreparedAnswer.forAnyName(nxdomain)]] as const
  fc.assert(fc.property(fc.array(label, {minLength: 1, maxLength: 8}), fc.constantFrom(1, 28, 16), fc.boolean(), (labels, qtype, withEdns) => {
    let name = labels.join('.') + '.glb.example.test'
    while (name.length > 253) name = name.slice(name.indexOf('.') + 1)
    const query = buildQuery(name, qtype, {edns: withEdns ? {udpSize: 1232} : false})
    const q = parseQuery(query)
    for (const [spec, p] of answers) {
      const out = p.render(query, q, 65535)
      const ours = readMessage(out)
      const theirs = readMessage(encodeResponse(q, query, spec, 65535, withEdns ? {udpSize: 1232, do: false} : null))
      assert.equal(out.subarray(12, q.questionEnd), query.subarray(12, q.questionEnd), 'question as asked')
      assert.equal({...ours, header: null, authorities: ours.authorities.map((r) => [r.name, r.data]), additionals: ours.additionals.map((r) => [r.name, r.data])},
        {...theirs, header: null, authorities: theirs.authorities.map((r) => [r.name, r.data]), additionals: theirs.additionals.map((r) => [r.name, r.data])})
      assert.is(ours.header.flags, theirs.header.flags)
      dnsPacket.decode(out) // and another decoder agrees it is well-formed
    }
  }), {numRuns: 500})
  // The longest name (255 octets) shifts every pointer the most; one octet short of the room it needs, the
  // answer truncates cleanly.
  const longest = [63, 63, 63, 61].map((n) => 'a'.repeat(n)).join('.')
  const q255 = buildQuery(longest, 1, {edns: false})
  const p = PreparedAnswer.forAnyName(referral)
  const whole = p.render(q255, parseQuery(q255), 1232)
  assert.is(readMessage(whole).additionals.length, 2)
  const cut = p.render(q255, parseQuery(q255), whole.length - 1)
  assert.ok(readMessage(cut).header.flags & Flag.TC)
  assert.is(cut.length, 12 + 255 + 4)
})

test('a prepared answer copies type and class as asked and refuses a question of another length', () => {
  const p = new PreparedAnswer('www.example.test.', 1, spec)
  const anyClass = buildQuery('www.example.test', 1, {klass: 255})
  const out = p.render(anyClass, parseQuery(anyClass), 512)
  assert.is(readMessage(out).questions[0]!.class, 255)
  const other = buildQuery('longer.example.test', 1) // (a cheap length check: it keeps the packet well-formed)
  assert.throws(() => p.render(other, parseQuery(other), 512), /another name/)
})

test('EDNS size: 512 without OPT, at least 512, at most our 1232 (RFC 6891 §6.2.5)', () => {
  const limitFor = (edns: false | {udpSize: number}) => udpLimit(parseQuery(buildQuery('a.test', 1, {edns})))
  assert.is(limitFor(false), 512)
  assert.is(limitFor({udpSize: 100}), 512)
  assert.is(limitFor({udpSize: 1000}), 1000)
  assert.is(limitFor({udpSize: 4096}), 1232)
})

test('an answer over the limit goes out with TC, the question and OPT only; under it, whole', () => {
  const big = manyA(40) // ~680 octets
  for (const via of ['prepared', 'encoded'] as const) {
    for (const [size, tc] of [[512, true], [1232, false]] as const) {
      const query = buildQuery('big.example.test', 1, {edns: {udpSize: size}})
      const q = parseQuery(query)
      const out = via === 'prepared' ? new PreparedAnswer('big.example.test.', 1, big).render(query, q, udpLimit(q))
        : encodeResponse(q, query, big, udpLimit(q), {udpSize: 1232, do: false})
      assert.ok(out.length <= udpLimit(q), `${via} ${size}: ${out.length} octets`)
      const m = readMessage(out)
      assert.is(Boolean(m.header.flags & Flag.TC), tc, `${via} ${size}`)
      assert.is(m.answers.length, tc ? 0 : 40)
      assert.ok(m.edns, 'OPT kept in a truncated answer')
      assert.is(m.questions[0]!.name, 'big.example.test.')
    }
  }
})

test('an extra option (ECS, NSID) is appended to OPT with its RDLENGTH fixed, and counts towards the limit', () => {
  const p = new PreparedAnswer('www.example.test.', 1, spec)
  const query = buildQuery('www.example.test', 1, {edns: {udpSize: 1232, do: true}})
  const q = parseQuery(query)
  const nsid = Buffer.from([0, 3, 0, 5, ...Buffer.from('glb a')])
  const m = readMessage(p.render(query, q, 1232, nsid))
  assert.equal(m.edns!.options.map((o) => [o.code, o.data.toString()]), [[3, 'glb a']])
  assert.is(m.edns!.do, true)
  const fits = p.render(query, q, 1232).length
  const tight = readMessage(p.render(query, q, fits + 2, nsid))
  assert.ok(tight.header.flags & Flag.TC, 'the option pushed it over the limit')
})

test('extended rcodes: BADVERS is 0 in the header and 1 in OPT', () => {
  const query = buildQuery('a.test', 1)
  const q = parseQuery(query)
  const m = readMessage(encodeResponse(q, query, {rcode: 16}, 512, {udpSize: 1232, do: false}))
  assert.is(m.header.rcode, 0)
  assert.is(m.rcode, 16)
})

test('encodeError without a readable question: header only, ID and opcode kept, QR set', () => {
  const junk = Buffer.from([0xab, 0xcd, 0x28, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0x3f])
  const out = encodeError(junk, 1, null, null)
  assert.is(out.length, 12)
  const m = readMessage(out)
  assert.is(m.header.id, 0xabcd)
  assert.is(m.header.opcode, 5)
  assert.is(m.header.qr, true)
  assert.is(m.rcode, 1)
})

test.run()
