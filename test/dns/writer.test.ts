// The compressing writer: round trips through our reader and dns-packet, compression that is correct and
// smaller, case kept from the question, and refusal of what cannot be encoded.
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import dnsPacket from 'dns-packet'
import {MessageWriter, ipv4Bytes, ipv6Bytes, type RR} from '../../src/dns/wire/writer.js'
import {readMessage, ipv6Text} from '../../src/dns/wire/reader.js'
import {canonicalName, isSubdomain, labelCount, labelText, nameToLabels, nameToWire, parentName, readName} from '../../src/dns/wire/name.js'
import {WireError} from '../../src/dns/wire/wire-error.js'

const label = fc.stringMatching(/^[A-Za-z0-9_-]{1,15}$/)
// Names drawn from a small pool of suffixes, so compression has something to find.
const dnsName = fc.tuple(fc.array(label, {maxLength: 3}), fc.constantFrom('example.test', 'Example.TEST', 'glb.example.test', 'other.test', ''))
  .map(([ls, suffix]) => [...ls, suffix].filter(Boolean).join('.') || 'a')
const ttl = fc.integer({min: 0, max: 0x7fffffff})
const rrArb: fc.Arbitrary<RR> = fc.oneof(
  fc.record({name: dnsName, type: fc.constant(1), ttl, data: fc.ipV4()}),
  fc.record({name: dnsName, type: fc.constant(28), ttl, data: fc.ipV6()}),
  fc.record({name: dnsName, type: fc.constantFrom(2, 5, 12), ttl, data: dnsName}),
  fc.record({name: dnsName, type: fc.constant(15), ttl, data: fc.record({preference: fc.integer({min: 0, max: 65535}), exchange: dnsName})}),
  fc.record({name: dnsName, type: fc.constant(16), ttl, data: fc.array(fc.stringMatching(/^[ -~]{0,80}$/), {minLength: 1, maxLength: 3})}),
  fc.record({name: dnsName, type: fc.constant(6), ttl, data: fc.record({mname: dnsName, rname: dnsName, serial: fc.nat(), refresh: fc.nat(), retry: fc.nat(), expire: fc.nat(), minimum: fc.nat()})}),
  fc.record({name: dnsName, type: fc.constant(65280), ttl, data: fc.uint8Array({maxLength: 40}).map((a) => Buffer.from(a))}),
)
const lower = (n: string) => n.toLowerCase().replace(/\.?$/, '.')

function write(records: RR[], qname = 'www.example.test'): Buffer {
  const w = new MessageWriter(64) // small on purpose: growth is exercised
  w.header(42, 0x8400, 1, records.length, 0, 0)
  w.rawName(nameToWire(qname), lower(qname))
  w.u16(1); w.u16(1)
  for (const r of records) w.rr(r)
  return w.finish()
}

function expectedData(r: RR): unknown {
  switch (r.type) {
    case 2: case 5: case 12: return lower(r.data as string)
    case 15: { const mx = r.data as {preference: number; exchange: string}; return {preference: mx.preference, exchange: lower(mx.exchange)} }
    case 6: { const s = r.data as any; return {...s, mname: lower(s.mname), rname: lower(s.rname)} }
    case 28: return ipv6Text(ipv6Bytes(r.data as string))
    case 65280: return null
    default: return r.data
  }
}

test('round trip: writer -> strict reader gives back every record', () => {
  fc.assert(fc.property(fc.array(rrArb, {maxLength: 12}), (records) => {
    const m = readMessage(write(records))
    assert.is(m.answers.length, records.length)
    m.answers.forEach((a, i) => {
      const r = records[i]!
      assert.is(a.name, lower(r.name))
      assert.is(a.type, r.type)
      assert.is(a.ttl, r.ttl)
      assert.equal(a.data, expectedData(r))
      if (Buffer.isBuffer(r.data)) assert.equal(Buffer.from(a.rdata), r.data)
    })
  }), {numRuns: 1000})
})

test('dns-packet decodes our compressed messages to the same records (oracle for compression)', () => {
  fc.assert(fc.property(fc.array(rrArb.filter((r) => r.type !== 65280), {maxLength: 10}), (records) => {
    const d = dnsPacket.decode(write(records))
    assert.is(d.answers!.length, records.length)
    d.answers!.forEach((a: any, i) => {
      const r = records[i]!
      assert.is(lower(a.name), lower(r.name))
      if (r.type === 2 || r.type === 5 || r.type === 12) assert.is(lower(a.data), lower(r.data as string))
      if (r.type === 1) assert.is(a.data, r.data)
      if (r.type === 28) assert.equal(ipv6Bytes(a.data), ipv6Bytes(r.data as string))
      if (r.type === 16) assert.equal(a.data.map((b: Buffer) => b.toString('latin1')), r.data)
    })
  }), {numRuns: 500})
})

test('compression: a referral with two NS and glue is smaller than dns-packet makes it', () => {
  const records: RR[] = [
    {name: 'glb.example.test', type: 2, ttl: 300, data: 'b1.glb.example.test'},
    {name: 'glb.example.test', type: 2, ttl: 300, data: 'b2.glb.example.test'},
    {name: 'b1.glb.example.test', type: 1, ttl: 300, data: '127.0.0.20'},
    {name: 'b2.glb.example.test', type: 1, ttl: 300, data: '127.0.0.21'},
  ]
  const ours = write(records, 'www.glb.example.test')
  const theirs = dnsPacket.encode({type: 'response', id: 42, flags: 0x8400, questions: [{type: 'A', class: 'IN', name: 'www.glb.example.test'}],
    answers: records.map((r) => ({name: r.name, type: r.type === 2 ? 'NS' : 'A', ttl: r.ttl, data: r.data as string}))})
  assert.ok(ours.length < theirs.length - 40, `ours ${ours.length} octets, dns-packet ${theirs.length}`)
  // Every owner after the question is a 2-octet pointer into it.
  const pointers = [...ours.subarray(12 + 22 + 4)].filter((b, i, all) => (b & 0xc0) === 0xc0 && i + 1 < all.length).length
  assert.ok(pointers >= 4)
})

test('names compress against the question in the asker\'s case (0x20 randomisation survives)', () => {
  const m = write([{name: 'www.example.test', type: 5, ttl: 60, data: 'x.example.test'}], 'WwW.eXaMpLe.TeSt')
  const wire = m.subarray(12)
  assert.ok(wire.toString('latin1').includes('WwW'), 'the question is written as given')
  // The owner is a pointer to offset 12 (the question), not a second spelling.
  assert.is(m.readUInt16BE(12 + 18 + 4), 0xc000 | 12)
  const d = dnsPacket.decode(m)
  assert.is(d.answers![0]!.name, 'WwW.eXaMpLe.TeSt')
})

test('pointers are only made to offsets below 0x4000 (14 bits): a 20 KB message reads back', () => {
  const records: RR[] = []
  for (let i = 0; i < 120; i++) records.push({name: `n${i}.example.test`, type: 16, ttl: 1, data: ['x'.repeat(150)]})
  for (let i = 0; i < 120; i++) records.push({name: `n${i}.example.test`, type: 5, ttl: 1, data: `t${i}.example.test`})
  const b = write(records)
  assert.ok(b.length > 0x4000 + 1000)
  const m = readMessage(b)
  assert.is(m.answers.length, 240)
  assert.is(m.answers[239]!.name, 'n119.example.test.')
  assert.is(m.answers[239]!.data, 't119.example.test.')
})

test('escaped names: \\. inside a label and \\DDD octets are written as single octets', () => {
  assert.equal(nameToLabels('a\\.b.c'), [Buffer.from('a.b'), Buffer.from('c')])
  assert.equal(nameToLabels('\\065\\032x.'), [Buffer.from('A x')])
  const m = readMessage(write([{name: 'a\\.b.example.test', type: 1, ttl: 1, data: '192.0.2.1'}]))
  assert.is(m.answers[0]!.name, 'a\\.b.example.test.')
})

test('presentation names of any octets (escaped dots and backslashes included) round-trip, and the name helpers agree', () => {
  const labelBytes = fc.uint8Array({minLength: 1, maxLength: 20}).map((a) => Buffer.from(a))
  fc.assert(fc.property(fc.array(labelBytes, {minLength: 1, maxLength: 5}), (labels) => {
    const text = labels.map((l) => labelText(l, 0, l.length, true)).join('.') + '.'
    const lowered = labels.map((l) => Buffer.from([...l].map((c) => (c >= 0x41 && c <= 0x5a ? c | 0x20 : c))))
    assert.equal(nameToLabels(text), lowered)
    assert.is(canonicalName(text), text)
    assert.is(canonicalName(text.slice(0, -1)), text)
    assert.is(labelCount(text), labels.length)
    const parent = labels.length > 1 ? lowered.slice(1).map((l) => labelText(l, 0, l.length, false)).join('.') + '.' : '.'
    assert.is(parentName(text), parent)
    assert.ok(isSubdomain(text, parent))
    // The reader reads back what the writer wrote.
    const w = new MessageWriter()
    w.name(text)
    assert.is(readName(w.finish(), 0).name, text)
  }), {numRuns: 3000})
  // A label ending in a backslash, then a dot: the dot separates (it is the backslash that is escaped).
  assert.equal(nameToLabels('\\255\\\\.'), [Buffer.from([255, 0x5c])])
  assert.equal(nameToLabels('a\\.b.'), [Buffer.from('a.b')])
  assert.not.ok(isSubdomain('a\\.example.test.', 'example.test.'), 'an escaped dot does not start a parent name')
  assert.ok(isSubdomain('a\\\\.example.test.', 'example.test.'))
})

test('what cannot be encoded is a WireError, not a bad packet', () => {
  const bad: [string, () => unknown][] = [
    ['label of 64', () => nameToLabels('x'.repeat(64) + '.test')],
    ['name of 256 octets', () => nameToLabels(Array(5).fill('y'.repeat(50)).join('.') + '.zz')],
    ['empty label', () => nameToLabels('a..test')],
    ['non-Latin-1 character', () => nameToLabels('bü€.test')],
    ['TXT string of 256', () => write([{name: 'a.test', type: 16, ttl: 1, data: ['z'.repeat(256)]}])],
    ['bad IPv4', () => write([{name: 'a.test', type: 1, ttl: 1, data: '300.1.1.1'}])],
    ['IPv6 for an A', () => write([{name: 'a.test', type: 1, ttl: 1, data: '::1'}])],
    ['bad IPv6', () => write([{name: 'a.test', type: 28, ttl: 1, data: '1::2::3'}])],
    ['unknown type from a value', () => write([{name: 'a.test', type: 99, ttl: 1, data: 'x'}])],
    ['RDATA over 65535', () => write([{name: 'a.test', type: 99, ttl: 1, data: Buffer.alloc(70_000)}])],
  ]
  for (const [what, fn] of bad) assert.throws(fn, (e: unknown) => e instanceof WireError, what)
  // The longest legal name (255 octets) is fine.
  assert.is(nameToWire([63, 63, 63, 61].map((n) => 'a'.repeat(n)).join('.')).length, 255)
})

test('IPv6 text and octets agree with the WHATWG URL parser (dns-packet gets "::" before 7 groups wrong)', () => {
  // The URL serializer writes RFC 5952 text (lowercase, longest zero run as ::), so it is an independent oracle.
  fc.assert(fc.property(fc.ipV6(), (addr) => {
    assert.is(ipv6Text(ipv6Bytes(addr)), new URL(`http://[${addr}]/`).hostname.slice(1, -1))
  }), {numRuns: 2000})
  fc.assert(fc.property(fc.uint8Array({minLength: 16, maxLength: 16}), (a) => {
    const b = Buffer.from(a)
    assert.equal(ipv6Bytes(ipv6Text(b)), b)
  }), {numRuns: 1000})
  assert.is(ipv6Text(ipv6Bytes('2001:db8:0:0:1:0:0:1')), '2001:db8::1:0:0:1')
  assert.equal([...ipv4Bytes('127.0.0.10')], [127, 0, 0, 10])
})

test('OPT pseudo-record layout (RFC 6891 §6.1.2)', () => {
  const w = new MessageWriter()
  w.opt(1232, 1, true, [Buffer.from([0, 3, 0, 0])])
  const b = w.finish()
  assert.equal([...b], [0, 0, 41, 0x04, 0xd0, 1, 0, 0x80, 0, 0, 4, 0, 3, 0, 0])
})

test.run()
