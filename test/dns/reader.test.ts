// The strict reader: crafted hostile inputs rejected fast with a WireError, dns-packet as an oracle on valid
// messages, and properties over random input (only WireError is ever thrown).
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import dnsPacket from 'dns-packet'
import {parseQuery, readMessage, readHeader} from '../../src/dns/wire/reader.js'
import {readName, readQuestionName} from '../../src/dns/wire/name.js'
import {ipv6Bytes} from '../../src/dns/wire/writer.js'
import {WireError} from '../../src/dns/wire/wire-error.js'

// --- tiny byte builders (the point is to write what no encoder would) ---
const u16 = (n: number) => Buffer.from([(n >> 8) & 0xff, n & 0xff])
const u32 = (n: number) => Buffer.from([(n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff])
function header(o: {id?: number; flags?: number; qd?: number; an?: number; ns?: number; ar?: number} = {}): Buffer {
  return Buffer.concat([u16(o.id ?? 0x1234), u16(o.flags ?? 0), u16(o.qd ?? 1), u16(o.an ?? 0), u16(o.ns ?? 0), u16(o.ar ?? 0)])
}
function wireName(name: string): Buffer {
  if (name === '.' || name === '') return Buffer.from([0])
  const parts = name.replace(/\.$/, '').split('.')
  return Buffer.concat([...parts.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'latin1')])), Buffer.from([0])])
}
const ptr = (off: number) => u16(0xc000 | off)
const question = (name: Buffer, type = 1, klass = 1) => Buffer.concat([name, u16(type), u16(klass)])
const rr = (name: Buffer, type: number, rdata: Buffer, o: {klass?: number; ttl?: number; rdlen?: number} = {}) =>
  Buffer.concat([name, u16(type), u16(o.klass ?? 1), u32(o.ttl ?? 60), u16(o.rdlen ?? rdata.length), rdata])
const opt = (rdata: Buffer = Buffer.alloc(0), o: {udp?: number; ttl?: number; owner?: Buffer} = {}) =>
  Buffer.concat([o.owner ?? Buffer.from([0]), u16(41), u16(o.udp ?? 1232), u32(o.ttl ?? 0), u16(rdata.length), rdata])
const msg = (...parts: Buffer[]) => Buffer.concat(parts)
const Q = question(wireName('www.example.test'))

// Best of three runs, so a GC pause elsewhere does not fail a test about our own work. The limits below are
// about 10x what these take on an idle machine: they tell "refused at once" from the seconds a hostile packet
// costs a reader without the bounds, not a fast machine from a busy one.
function fastest(fn: () => void): number {
  let best = Infinity
  for (let i = 0; i < 3; i++) {
    const t = performance.now()
    fn()
    best = Math.min(best, performance.now() - t)
  }
  return best
}

function rejects(what: string, buf: Buffer, readers: ('parseQuery' | 'readMessage')[], re?: RegExp, ms = 50): void {
  for (const r of readers) {
    const read = r === 'parseQuery' ? parseQuery : readMessage
    let caught: unknown = null
    const took = fastest(() => {
      try { read(buf) } catch (err) { caught = err; return }
      caught = null
    })
    assert.ok(caught instanceof WireError, `${what}: ${r} should throw a WireError, got ${caught === null ? 'no error' : String(caught)}`)
    if (re) assert.match((caught as Error).message, re, `${what}: ${r}`)
    assert.ok(took < ms, `${what}: ${r} took ${took.toFixed(2)} ms (limit ${ms})`)
  }
}

// The 25-octet packet of DEPENDENCIES.md: ANCOUNT and NSCOUNT 65535 and a TXT record whose RDLENGTH runs
// past the end; dns-packet then decodes every later record from offset 0 again.
const COUNT_BOMB = Buffer.from('000000000000ffffffff00000000101cd4ff005000ffc60000', 'hex')

// A 64 KB message of chained compression pointers: a record whose RDATA is a chain of 8000 pointers each
// pointing at the one before, then thousands of records whose owner points at the end of the chain.
function pointerChain(chainLen: number, total = 65535): Buffer {
  const rdStart = 12 + Q.length + 1 + 10
  const chain = Buffer.alloc(chainLen * 2)
  for (let i = 0; i < chainLen; i++) chain.writeUInt16BE(0xc000 | (i === 0 ? 12 : rdStart + 2 * (i - 1)), 2 * i)
  const last = rdStart + 2 * (chainLen - 1)
  if (last > 0x3fff) throw new Error('chain too long for 14-bit pointers')
  const records = [rr(Buffer.from([0]), 65280, chain)]
  let size = 12 + Q.length + records[0]!.length
  const one = rr(ptr(last), 1, Buffer.from([127, 0, 0, 1]))
  while (size + one.length <= total) { records.push(one); size += one.length }
  return msg(header({qd: 1, an: records.length}), Q, ...records)
}

test('the 25-octet count bomb: dns-packet builds >100,000 records, we refuse it at once', () => {
  assert.is(COUNT_BOMB.length, 25)
  const d = dnsPacket.decode(COUNT_BOMB)
  assert.ok(d.answers!.length + d.authorities!.length > 100_000, 'the oracle shows why the packet is hostile')
  rejects('count bomb', COUNT_BOMB, ['parseQuery', 'readMessage'], /section counts exceed/)
})

test('64 KB of chained compression pointers: refused quickly', () => {
  const m = pointerChain(8000)
  assert.ok(m.length > 65_000, `message is ${m.length} octets`)
  rejects('pointer chain', m, ['readMessage'], /too many compression pointers/)
  // The query path does not follow pointers in records it skips: linear in the length, and the message is
  // still refused by readMessage wherever its names are read.
  assert.ok(fastest(() => parseQuery(m)) < 50)
})

test('the worst chain within bounds (127 hops, ~4000 names pointing into it) stays linear', () => {
  const m = pointerChain(127)
  const r = readMessage(m) // valid under our rules: 127 hops, root name
  assert.ok(r.answers.length > 3900)
  assert.is(r.answers[1]!.name, 'www.example.test.') // the chain ends at the question name
  const took = fastest(() => readMessage(m))
  assert.ok(took < 400, `readMessage of ${r.answers.length} records took ${took.toFixed(1)} ms`)
  assert.ok(fastest(() => parseQuery(m)) < 50)
})

test('crafted malformed messages are each refused with a WireError in under 5 ms', () => {
  const longLabel = 'x'.repeat(64)
  const label63 = 'y'.repeat(63)
  const cases: [string, Buffer, ('parseQuery' | 'readMessage')[], RegExp?][] = [
    ['shorter than a header', Buffer.from([0, 1, 0, 0, 0, 1]), ['parseQuery', 'readMessage'], /shorter than a header/],
    ['inflated ANCOUNT', msg(header({an: 3}), Q, rr(ptr(12), 1, Buffer.from([1, 2, 3, 4]))), ['parseQuery', 'readMessage']],
    ['inflated QDCOUNT', msg(header({qd: 40}), Q), ['parseQuery', 'readMessage'], /section counts exceed/],
    ['no question', msg(header({qd: 0})), ['parseQuery'], /one question/],
    ['two questions', msg(header({qd: 2}), Q, Q), ['parseQuery'], /one question/],
    ['pointer to itself (loop)', msg(header({an: 1}), Q, rr(ptr(12 + Q.length), 1, Buffer.from([1, 2, 3, 4]))), ['parseQuery', 'readMessage'], /backwards/],
    ['pointer forwards', msg(header({an: 1}), Q, rr(ptr(12 + Q.length + 20), 1, Buffer.from([1, 2, 3, 4]))), ['parseQuery', 'readMessage'], /backwards/],
    ['pointer into the header', msg(header({an: 1}), Q, rr(ptr(4), 1, Buffer.from([1, 2, 3, 4]))), ['parseQuery', 'readMessage'], /header/],
    // A label then a pointer back into that same label: a loop through a label.
    ['loop through a label', msg(header({an: 1}), Q, rr(Buffer.concat([Buffer.from([1, 0x61]), ptr(12 + Q.length)]), 1, Buffer.from([1, 2, 3, 4]))), ['readMessage'], /backwards/],
    ['pointer in the question', msg(header(), question(Buffer.concat([Buffer.from([1, 0x61]), ptr(12)]))), ['parseQuery'], /pointer/],
    ['label of 64 octets', msg(header(), question(wireName(longLabel))), ['parseQuery', 'readMessage'], /label type/],
    ['label type 10 (0x80)', msg(header(), question(Buffer.from([0x80, 0x61, 0]))), ['parseQuery', 'readMessage'], /label type/],
    ['name of 321 octets', msg(header(), question(wireName([label63, label63, label63, label63, label63].join('.')))), ['parseQuery', 'readMessage'], /255/],
    ['name over 255 octets through a pointer', msg(header({an: 1}), question(wireName([label63, label63].join('.'))),
      rr(Buffer.concat([wireName([label63, label63].join('.')).subarray(0, 128), ptr(12)]), 1, Buffer.from([1, 2, 3, 4]))), ['readMessage'], /255/],
    ['label runs past the end', msg(header(), Buffer.from([10, 0x61, 0x62])), ['parseQuery', 'readMessage']],
    ['question runs past the end', msg(header(), wireName('a.test'), Buffer.from([0, 1])), ['parseQuery', 'readMessage'], /question runs past/],
    ['RDLENGTH too long', msg(header({an: 1}), Q, rr(ptr(12), 1, Buffer.from([1, 2, 3, 4]), {rdlen: 300})), ['parseQuery', 'readMessage'], /RDATA runs past/],
    ['RDLENGTH too short for an A', msg(header({an: 1}), Q, rr(ptr(12), 1, Buffer.from([1, 2, 3]))), ['readMessage'], /A RDATA/],
    ['RDLENGTH too short: name past its RDATA', msg(header({an: 1}), Q, rr(ptr(12), 5, wireName('target.test'), {rdlen: 4}), Buffer.alloc(0)), ['readMessage']],
    ['RDLENGTH too long for an AAAA', msg(header({an: 1}), Q, rr(ptr(12), 28, Buffer.alloc(17))), ['readMessage'], /AAAA RDATA/],
    ['RDLENGTH lies: leaves trailing octets', msg(header({an: 1}), Q, rr(ptr(12), 1, Buffer.from([1, 2, 3, 4]), {rdlen: 2})), ['readMessage']],
    ['SOA RDATA the wrong length', msg(header({an: 1}), Q, rr(ptr(12), 6, Buffer.concat([ptr(12), ptr(12), Buffer.alloc(19)]))), ['readMessage'], /SOA/],
    ['TXT string past its RDATA', msg(header({an: 1}), Q, rr(ptr(12), 16, Buffer.from([9, 0x61]))), ['readMessage'], /TXT/],
    ['empty A in class IN', msg(header({an: 1}), Q, rr(ptr(12), 1, Buffer.alloc(0))), ['readMessage'], /A RDATA/],
    ['two OPT records', msg(header({ar: 2}), Q, opt(), opt()), ['parseQuery', 'readMessage'], /OPT/],
    ['OPT in the answer section', msg(header({an: 1}), Q, opt()), ['parseQuery', 'readMessage'], /OPT/],
    ['OPT owner not the root', msg(header({ar: 1}), Q, opt(Buffer.alloc(0), {owner: ptr(12)})), ['parseQuery', 'readMessage'], /OPT/],
    ['EDNS option past the OPT RDATA', msg(header({ar: 1}), Q, opt(Buffer.from([0, 10, 0, 8, 1, 2]))), ['parseQuery', 'readMessage'], /EDNS option/],
    ['ECS of family 3', msg(header({ar: 1}), Q, opt(Buffer.concat([u16(8), u16(4), u16(3), Buffer.from([0, 0])]))), ['parseQuery', 'readMessage'], /family/],
    ['ECS with host bits set', msg(header({ar: 1}), Q, opt(Buffer.concat([u16(8), u16(7), u16(1), Buffer.from([23, 0, 10, 1, 3])]))), ['parseQuery', 'readMessage'], /past its prefix/],
    ['TSIG not the last record', msg(header({ar: 2}), Q, rr(wireName('key.test'), 250, Buffer.alloc(0), {klass: 255}), opt()), ['parseQuery', 'readMessage'], /TSIG/],
    ['TSIG in the answer section', msg(header({an: 1}), Q, rr(wireName('key.test'), 250, Buffer.alloc(0), {klass: 255})), ['parseQuery', 'readMessage'], /TSIG/],
    ['record header cut short', msg(header({an: 1}), Q, ptr(12), u16(1), u16(1), Buffer.alloc(3)), ['parseQuery', 'readMessage']],
  ]
  for (const [what, buf, readers, re] of cases) rejects(what, buf, readers, re)
})

test('parseQuery reads what the server needs from a dig-style query', () => {
  const cookie = Buffer.concat([u16(10), u16(8), Buffer.from('0123456789abcdef', 'hex')])
  const m = msg(header({flags: 0x0120, ar: 1}), question(wireName('WwW.ExAmPle.TEST'), 28), opt(cookie, {udp: 4096, ttl: 0x00008000}))
  const q = parseQuery(m)
  assert.is(q.qname, 'www.example.test.')
  assert.is(q.qtype, 28)
  assert.is(q.qclass, 1)
  assert.is(q.qnameEnd, 12 + 18)
  assert.is(m.subarray(12, q.qnameEnd).toString('latin1').replace(/[\x00-\x1f]/g, '.'), '.WwW.ExAmPle.TEST.', 'the asked bytes are where qnameEnd says')
  assert.is(q.questionEnd, q.qnameEnd + 4)
  assert.is(q.header.id, 0x1234)
  assert.is(q.header.opcode, 0)
  assert.ok(q.edns)
  assert.is(q.edns!.udpSize, 4096)
  assert.is(q.edns!.version, 0)
  assert.is(q.edns!.do, true)
  assert.is(q.edns!.options.length, 1)
  assert.is(q.edns!.options[0]!.code, 10)
  assert.is(q.tsigOffset, -1)
})

test('parseQuery: root question, EDNS version 1 read (the server answers BADVERS), TSIG offset found', () => {
  const root = parseQuery(msg(header(), question(Buffer.from([0]), 2)))
  assert.is(root.qname, '.')
  assert.is(root.edns, null)
  const v1 = parseQuery(msg(header({ar: 1}), Q, opt(Buffer.alloc(0), {ttl: 0x00010000})))
  assert.is(v1.edns!.version, 1)
  const tsig = rr(wireName('key.test'), 250, Buffer.alloc(6), {klass: 255})
  const signed = msg(header({ar: 2}), Q, opt(), tsig)
  assert.is(parseQuery(signed).tsigOffset, signed.length - tsig.length)
})

test('question names with dots, spaces, backslashes and high octets read the same by both paths', () => {
  const odd = Buffer.concat([Buffer.from([4, 0x61, 0x2e, 0x20, 0x5c, 3, 0xff, 0x41, 0x00]), Buffer.from([4]), Buffer.from('TeSt'), Buffer.from([0])])
  const m = msg(header(), question(odd))
  const q = parseQuery(m)
  assert.is(q.qname, 'a\\.\\032\\\\.\\255a\\000.test.')
  assert.is(q.qnameEnd, 12 + odd.length)
  fc.assert(fc.property(fc.array(fc.uint8Array({minLength: 1, maxLength: 63}), {maxLength: 6}), (labels) => {
    const wire = Buffer.concat([...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])), Buffer.from([0])])
    const b = msg(header(), wire)
    let a: unknown, r: unknown
    try { a = readQuestionName(b, 12) } catch (e) { a = (e as Error).message }
    try { r = readName(b, 12) } catch (e) { r = (e as Error).message }
    assert.equal(a, r)
  }), {numRuns: 2000})
})

// --- dns-packet as an oracle on valid messages ---
const label = fc.stringMatching(/^[A-Za-z0-9_-]{1,20}$/)
const dnsName = fc.array(label, {minLength: 1, maxLength: 5}).map((ls) => ls.join('.'))
const ttl = fc.integer({min: 0, max: 0x7fffffff})
const record = fc.oneof(
  fc.record({type: fc.constant('A' as const), name: dnsName, ttl, data: fc.ipV4()}),
  fc.record({type: fc.constant('AAAA' as const), name: dnsName, ttl, data: fc.ipV6()}),
  fc.record({type: fc.constantFrom('NS' as const, 'CNAME' as const, 'PTR' as const), name: dnsName, ttl, data: dnsName}),
  fc.record({type: fc.constant('MX' as const), name: dnsName, ttl, data: fc.record({preference: fc.integer({min: 0, max: 65535}), exchange: dnsName})}),
  fc.record({type: fc.constant('TXT' as const), name: dnsName, ttl, data: fc.array(fc.stringMatching(/^[ -~]{0,60}$/), {minLength: 1, maxLength: 4})}),
  fc.record({type: fc.constant('SOA' as const), name: dnsName, ttl, data: fc.record({
    mname: dnsName, rname: dnsName, serial: fc.nat(), refresh: fc.nat(), retry: fc.nat(), expire: fc.nat(), minimum: fc.nat(),
  })}),
)
const lower = (n: string) => (n === '.' ? '.' : n.toLowerCase().replace(/\.?$/, '.'))
const TYPE: Record<string, number> = {A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, MX: 15, TXT: 16, AAAA: 28}

function sameData(type: string, ours: unknown, theirs: any): void {
  switch (type) {
    case 'A': assert.is(ours, theirs); return
    case 'AAAA': assert.equal(ipv6Bytes(ours as string), ipv6Bytes(theirs)); return
    case 'NS': case 'CNAME': case 'PTR': assert.is(ours, lower(theirs)); return
    case 'MX': assert.equal(ours, {preference: theirs.preference, exchange: lower(theirs.exchange)}); return
    case 'TXT': assert.equal(ours, (theirs as Buffer[]).map((b) => b.toString('latin1'))); return
    case 'SOA': assert.equal(ours, {...theirs, mname: lower(theirs.mname), rname: lower(theirs.rname)}); return
  }
}

test('differential: readMessage agrees with dns-packet on messages dns-packet encoded', () => {
  fc.assert(fc.property(dnsName, fc.array(record, {maxLength: 6}), fc.array(record, {maxLength: 3}), fc.integer({min: 0, max: 0xffff}), (qname, answers, authorities, id) => {
    const encoded = dnsPacket.encode({
      type: 'response', id, flags: dnsPacket.AUTHORITATIVE_ANSWER,
      questions: [{type: 'A', class: 'IN', name: qname}],
      answers: answers as dnsPacket.Answer[], authorities: authorities as dnsPacket.Answer[],
    })
    const theirs = dnsPacket.decode(encoded)
    const ours = readMessage(encoded)
    assert.is(ours.header.id, theirs.id)
    assert.is(ours.header.qr, true)
    assert.is(ours.questions[0]!.name, lower(theirs.questions![0]!.name))
    const pairs: [typeof ours.answers, any[]][] = [[ours.answers, theirs.answers!], [ours.authorities, theirs.authorities!]]
    for (const [o, t] of pairs) {
      assert.is(o.length, t.length)
      o.forEach((r, i) => {
        assert.is(r.name, lower(t[i].name))
        assert.is(r.type, TYPE[t[i].type])
        assert.is(r.ttl, t[i].ttl)
        sameData(t[i].type, r.data, t[i].data)
      })
    }
  }), {numRuns: 400})
})

// --- properties: nothing but WireError, ever ---
function onlyWireError(read: (b: Buffer) => unknown, b: Buffer): void {
  try { read(b) } catch (err) {
    if (!(err instanceof WireError)) throw new Error(`${read.name} threw ${String(err)} for ${b.toString('hex')}`)
  }
}

test('random octets: parseQuery and readMessage throw nothing but WireError', () => {
  fc.assert(fc.property(fc.uint8Array({maxLength: 300}), (a) => {
    const b = Buffer.from(a)
    onlyWireError(parseQuery, b)
    onlyWireError(readMessage, b)
  }), {numRuns: 5000})
  // Random bodies behind plausible headers reach far deeper than random headers do.
  fc.assert(fc.property(fc.integer({min: 0, max: 3}), fc.integer({min: 0, max: 4}), fc.integer({min: 0, max: 2}), fc.uint8Array({maxLength: 200}), (qd, an, ar, body) => {
    const b = msg(header({qd, an, ar}), Buffer.from(body))
    onlyWireError(parseQuery, b)
    onlyWireError(readMessage, b)
  }), {numRuns: 5000})
})

test('mutated valid messages: only WireError, and whatever is accepted is self-consistent', () => {
  const base = dnsPacket.encode({
    type: 'response', id: 7, flags: 0,
    questions: [{type: 'A', class: 'IN', name: 'www.example.test'}],
    answers: [{type: 'CNAME', name: 'www.example.test', data: 'x.example.test'}, {type: 'A', name: 'x.example.test', data: '192.0.2.1'}],
    authorities: [{type: 'NS', name: 'example.test', data: 'ns.example.test'}],
    additionals: [{type: 'OPT', name: '.', udpPayloadSize: 1232, options: []} as any],
  })
  fc.assert(fc.property(fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({min: 0, max: 255})), {minLength: 1, maxLength: 4}), fc.nat(base.length), (flips, cut) => {
    const b = Buffer.from(base)
    for (const [at, v] of flips) b[at] = v
    const t = b.subarray(0, Math.max(cut, 12))
    for (const m of [b, t]) {
      onlyWireError(parseQuery, m)
      try {
        const r = readMessage(m)
        assert.is(r.header.ancount, r.answers.length)
      } catch (err) {
        if (!(err instanceof WireError)) throw err
      }
    }
  }), {numRuns: 5000})
})

test('readHeader splits the flags word', () => {
  const h = readHeader(msg(header({flags: 0x8000 | (5 << 11) | 0x0400 | 3})))
  assert.is(h.qr, true)
  assert.is(h.opcode, 5)
  assert.is(h.rcode, 3)
})

test.run()
