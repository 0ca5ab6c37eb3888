// TSIG sign/verify without tools: a captured BIND vector, crafted malformed TSIGs, error replies, properties.
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import dnsPacket from 'dns-packet'
import {findTsigOffset, NO_TSIG, parseTsigRecord, sign, signResponse, TSIG_FORMERR, tsigErrorResponse, verify} from '../../../src/dns/tsig/tsig.js'
import {appendTsig, nameToWire} from '../../../src/dns/tsig/tsig-record.js'
import type {TsigRecord, VerifyFailure, VerifyResult} from '../../../src/dns/tsig/tsig.js'
import {tsigAlgorithms} from '../../../src/dns/tsig/tsig-algorithm.js'
import {createKeyring, createTsigKey, parseKeySpec} from '../../../src/dns/tsig/tsig-keyring.js'

const KEY = createTsigKey('k1', 'hmac-sha256', Buffer.from('0123456789abcdef0123456789abcdef'))
const RING = createKeyring([KEY])
const T = 1_795_000_000

function query(id = 0x1234, name = 'example.test'): Buffer {
  return dnsPacket.encode({type: 'query', id, flags: 0x0100, questions: [{name, type: 'A', class: 'IN'}]} as dnsPacket.Packet)
}

function signed(msg = query(), key = KEY, opts = {}): Buffer {
  return sign(msg, key, {timeSigned: T, ...opts}).message
}

/** verify() at the offset findTsigOffset() gives, at time T unless told. */
function check(msg: Buffer, ring = RING, now = T): VerifyResult {
  return verify(msg, findTsigOffset(msg), ring, {now})
}

function verdict(v: VerifyResult): string {
  return v.ok ? 'ok' : v.error
}

/** Fields of a TSIG RR, for building crafted ones. */
function fields(over: Partial<TsigRecord> = {}): Omit<TsigRecord, 'keyName' | 'algorithmName'> {
  return {
    keyNameWire: nameToWire('k1.'), algorithmWire: nameToWire('hmac-sha256.'), timeSigned: T, fudge: 300,
    mac: Buffer.alloc(32, 0xab), originalId: 0x1234, error: 0, otherData: Buffer.alloc(0), ...over,
  }
}

test('a BIND-signed message verifies (nsupdate 9.18 UPDATE, hmac-sha256, captured once)', () => {
  // nsupdate -y hmac-sha256:k1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY= ; update add x.example.test. 60 A 127.0.0.5
  const msg = Buffer.from(
    '478328000001000000010001076578616d706c65047465737400000600010178c00c000100010000003c00047f000005026b310000fa00ff' +
    '00000000003d0b686d61632d7368613235360000006b065f6d012c002096c0a806e3b432bfe8704760c1a02685dea617cb345dc0dc6223' +
    '5dcb2939eb07478300000000', 'hex')
  const key = parseKeySpec('hmac-sha256:k1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=')
  const off = findTsigOffset(msg)
  assert.is(off, 48)
  const v = verify(msg, off, createKeyring([key]), {now: 0x6b065f6d})
  assert.ok(v.ok, v.ok ? '' : v.reason)
  const wrong = createTsigKey('k1', 'hmac-sha256', Buffer.from('0123456789abcdef0123456789abcdeF'))
  assert.is(verdict(verify(msg, off, createKeyring([wrong]), {now: 0x6b065f6d})), 'BADSIG')
})

test('sign() then verify() round-trips for every algorithm, with and without a request MAC', () => {
  for (const alg of tsigAlgorithms) {
    const key = createTsigKey('Key.Example.', alg.name, Buffer.from('some secret bytes'))
    const ring = createKeyring([key])
    const {message, mac} = sign(query(), key, {timeSigned: T})
    assert.is(mac.length, alg.outputSize, alg.name)
    assert.is(message.readUInt16BE(10), 1, 'ARCOUNT incremented')
    const v = check(message, ring)
    assert.ok(v.ok, `${alg.name}: ${v.ok ? '' : v.reason}`)
    if (!v.ok) continue
    assert.equal(v.unsigned, query(), 'unsigned is the message as it was before signing')
    const reply = signResponse(query(), v, {now: T + 1}).message
    assert.ok(verify(reply, findTsigOffset(reply), ring, {requestMac: mac, now: T}).ok, `${alg.name} reply`)
    assert.is(verdict(verify(reply, findTsigOffset(reply), ring, {now: T})), 'BADSIG', `${alg.name} reply without request MAC`)
    assert.is(verdict(verify(reply, findTsigOffset(reply), ring, {requestMac: Buffer.alloc(alg.outputSize), now: T})), 'BADSIG')
  }
})

test('Original ID: a forwarder\'s new header ID still verifies and unsigned has the original back', () => {
  const msg = signed(query(0x1234))
  msg.writeUInt16BE(0x9999, 0)
  const v = check(msg)
  assert.ok(v.ok && v.unsigned.readUInt16BE(0) === 0x1234)
  // Signing with an explicit original ID digests that ID, not the header's.
  const fwd = sign(query(0x5555), KEY, {timeSigned: T, originalId: 0x1234}).message
  const w = check(fwd)
  assert.ok(w.ok && w.unsigned.readUInt16BE(0) === 0x1234)
  assert.equal(w.ok && w.unsigned.subarray(2), query().subarray(2))
})

test('time window: BADTIME past the fudge either way; the fudge the signer chose is honoured', () => {
  const msg = signed(query(), KEY, {fudge: 10})
  for (const [now, want] of [[T, 'ok'], [T + 10, 'ok'], [T - 10, 'ok'], [T + 11, 'BADTIME'], [T - 11, 'BADTIME']] as const) {
    assert.is(verdict(check(msg, RING, now)), want, `now = T${now - T >= 0 ? '+' : ''}${now - T}`)
  }
  // The MAC is checked before the time: a forged message that is also stale is BADSIG, never BADTIME.
  const forged = signed(query(), createTsigKey('k1', 'hmac-sha256', Buffer.from('other')))
  assert.is(verdict(check(forged, RING, T + 10_000)), 'BADSIG')
})

test('MAC sizes: longer than the hash or under max(10, hash/2) is FORMERR; allowed truncation below policy is BADTRUNC', () => {
  const short = createTsigKey('k1', 'hmac-sha256-128', KEY.secret)
  const truncated = signed(query(), short)
  assert.is((parseTsigRecord(truncated, findTsigOffset(truncated)) as TsigRecord).mac.length, 16)
  assert.is(verdict(check(truncated)), 'BADTRUNC', 'full-length policy refuses a 16-byte MAC')
  const bt = check(truncated) as VerifyFailure
  assert.is(bt.tsigError, 22)
  assert.ok(check(truncated, createKeyring([short])).ok, 'a key declared -128 accepts it')
  assert.is(verdict(check(signed(query(), KEY), createKeyring([short]))), 'ok', 'and a full MAC too')
  // Crafted sizes with a consistent RDLENGTH.
  for (const [size, want] of [[33, 'FORMERR'], [64, 'FORMERR'], [15, 'FORMERR'], [10, 'FORMERR'], [0, 'FORMERR'], [16, 'BADSIG'], [32, 'BADSIG']] as const) {
    const msg = appendTsig(query(), fields({mac: Buffer.alloc(size, 1)}))
    assert.is(verdict(check(msg)), want, `MAC size ${size}`)
  }
})

test('crafted: a truncated TSIG RR is FORMERR at every cut, quickly, without throwing', () => {
  const msg = signed()
  const off = findTsigOffset(msg)
  for (let len = off; len < msg.length; len++) {
    const cut = msg.subarray(0, len)
    assert.is(findTsigOffset(cut), TSIG_FORMERR, `cut at ${len}`)
    assert.is(verdict(verify(cut, off, RING, {now: T})), 'FORMERR', `cut at ${len}`)
  }
})

test('crafted: malformed TSIG fields are FORMERR, unknown keys and algorithms BADKEY', () => {
  const base = query()
  const withRdata = (mutate: (m: Buffer, off: number) => void): Buffer => {
    const m = signed(base)
    mutate(m, findTsigOffset(m))
    return m
  }
  const rdlenAt = (off: number) => off + 4 + 8 // owner "k1." is 4 bytes, then type, class, TTL
  const cases: Array<[string, Buffer, string]> = [
    ['MAC size field far larger than the RR', withRdata((m, off) => m.writeUInt16BE(0xffff, rdlenAt(off) + 2 + 13 + 8)), 'FORMERR'],
    ['MAC size one larger than fits', withRdata((m, off) => m.writeUInt16BE(33, rdlenAt(off) + 2 + 13 + 8)), 'FORMERR'],
    ['RDLENGTH past the end', withRdata((m, off) => m.writeUInt16BE(m.readUInt16BE(rdlenAt(off)) + 1, rdlenAt(off))), 'FORMERR'],
    ['RDLENGTH short of the end', withRdata((m, off) => m.writeUInt16BE(m.readUInt16BE(rdlenAt(off)) - 1, rdlenAt(off))), 'FORMERR'],
    ['Other Len inconsistent', withRdata((m) => m.writeUInt16BE(1, m.length - 2)), 'FORMERR'],
    ['class IN instead of ANY', withRdata((m, off) => m.writeUInt16BE(1, off + 4 + 2)), 'FORMERR'],
    ['TTL not 0', withRdata((m, off) => m.writeUInt32BE(1, off + 4 + 4)), 'FORMERR'],
    ['ARCOUNT 0', withRdata((m) => m.writeUInt16BE(0, 10)), 'FORMERR'],
    ['unknown algorithm', appendTsig(base, fields({algorithmWire: nameToWire('hmac-foo.')})), 'BADKEY'],
    ['gss-tsig (not implemented)', appendTsig(base, fields({algorithmWire: nameToWire('gss-tsig.')})), 'BADKEY'],
    ['known algorithm, not this key\'s', appendTsig(base, fields({algorithmWire: nameToWire('hmac-sha512.'), mac: Buffer.alloc(64)})), 'BADKEY'],
    ['unknown key name', appendTsig(base, fields({keyNameWire: nameToWire('k9.')})), 'BADKEY'],
    ['key name with a dot inside a label', appendTsig(base, fields({keyNameWire: Buffer.from('\x04k1.x\x00', 'latin1')})), 'BADKEY'],
  ]
  for (const [name, msg, want] of cases) {
    const t0 = performance.now()
    // With ARCOUNT 0 findTsigOffset() refuses the message, so pass the offset a confused reader might.
    const v = verify(msg, findTsigOffset(msg) < 0 ? base.length : findTsigOffset(msg), RING, {now: T})
    assert.is(verdict(v), want, `${name}: ${v.ok ? '' : v.reason}`)
    // ~10x what a check takes idle: tells a bounded check from a runaway one, not a busy machine from an idle one.
    assert.ok(performance.now() - t0 < 200, `${name} took too long`)
    if (!v.ok) assert.is(v.rcode, want === 'FORMERR' ? 1 : 9, name)
  }
})

test('crafted: compressed names: owner pointer is read, algorithm pointer is FORMERR, loops refused', () => {
  // Key named like the question, so the owner can point at offset 12 as a compressing signer would write it.
  const key = createTsigKey('example.test', 'hmac-sha256', KEY.secret)
  const ring = createKeyring([key])
  const plain = signed(query(), key)
  const off = findTsigOffset(plain)
  const ownerLen = nameToWire('example.test.').length
  const compressed = Buffer.concat([plain.subarray(0, off), Buffer.from([0xc0, 12]), plain.subarray(off + ownerLen)])
  const v = check(compressed, ring)
  assert.ok(v.ok, v.ok ? '' : v.reason)
  assert.is(v.ok && v.key.name, 'example.test.')
  // Upper-case owner name: the digest uses the canonical (lowercase) form, RFC 8945 §4.3.3.
  const upper = Buffer.from(plain)
  upper.write('EXAMPLE', off + 1, 'latin1')
  assert.ok(check(upper, ring).ok)
  // Algorithm name as a pointer to an earlier copy of "hmac-sha256." is refused (RFC 8945 §4.2).
  const algAt = off + ownerLen + 10
  const algLen = nameToWire('hmac-sha256.').length
  const early = Buffer.concat([query().subarray(0, 12), nameToWire('hmac-sha256.')]) // not used as a question
  const body = Buffer.concat([early, plain.subarray(12, algAt)])
  const shift = early.length - 12
  const ptrAlg = Buffer.concat([body, Buffer.from([0xc0, 12]), plain.subarray(algAt + algLen)])
  const rdlenPos = off + shift + ownerLen + 8
  ptrAlg.writeUInt16BE(ptrAlg.readUInt16BE(rdlenPos) - algLen + 2, rdlenPos)
  assert.is(verdict(verify(ptrAlg, off + shift, ring, {now: T})), 'FORMERR')
  // Owner pointers that point at themselves, forwards, or into the header.
  for (const ptr of [[0xc0 | (off >> 8), off & 0xff], [0xc0, 0xff], [0xc0, 2], [0xff, 0xff]]) {
    const bad = Buffer.concat([plain.subarray(0, off), Buffer.from(ptr), plain.subarray(off + ownerLen)])
    assert.is(verdict(verify(bad, off, ring, {now: T})), 'FORMERR', `pointer ${ptr}`)
  }
})

test('names: owner labels with any octet read back as escaped text and the same canonical wire form', () => {
  // An owner with a dot, a backslash, a space, a control byte and upper case inside its labels.
  const owner = Buffer.from([5, 0x41, 0x2e, 0x5c, 0x20, 0x07, 2, 0x4b, 0x31, 0])
  const msg = appendTsig(query(), {...fields(), keyNameWire: owner})
  const r = parseTsigRecord(msg, findTsigOffset(msg))
  assert.ok(typeof r !== 'string', String(r))
  assert.is(r.keyName, 'a\\.\\\\\\032\\007.k1.')
  assert.equal([...r.keyNameWire], [5, 0x61, 0x2e, 0x5c, 0x20, 0x07, 2, 0x6b, 0x31, 0])
  assert.equal(nameToWire(r.keyName), r.keyNameWire, 'the printer reads the reader\'s escapes back')
  assert.is(verdict(check(msg)), 'BADKEY')
  // Any label octets: reader then printer gives the lowercased wire form back.
  fc.assert(fc.property(fc.array(fc.uint8Array({minLength: 1, maxLength: 63}), {minLength: 1, maxLength: 3}), (labels) => {
    const wire = Buffer.concat([...labels.flatMap((l) => [Buffer.from([l.length]), Buffer.from(l)]), Buffer.from([0])])
    const m = appendTsig(query(), {...fields(), keyNameWire: wire})
    const rec = parseTsigRecord(m, findTsigOffset(m))
    if (typeof rec === 'string') return false
    const lower = Buffer.from(wire.map((b, i) => (i > 0 && b >= 0x41 && b <= 0x5a ? b + 0x20 : b)))
    return rec.keyNameWire.equals(lower) && nameToWire(rec.keyName).equals(lower)
  }), {numRuns: 300})
})

test('names: over 255 octets is FORMERR; the printer refuses long labels and names instead of writing bad lengths', () => {
  const long = Buffer.concat([...Array.from({length: 5}, () => Buffer.concat([Buffer.from([60]), Buffer.alloc(60, 0x61)])), Buffer.from([0])])
  const msg = appendTsig(query(), {...fields(), keyNameWire: long})
  assert.is(findTsigOffset(msg), TSIG_FORMERR)
  assert.is(verdict(verify(msg, query().length, RING, {now: T})), 'FORMERR', 'at the owner')
  assert.throws(() => nameToWire(`${'a'.repeat(64)}.k1.`), /63/)
  assert.throws(() => nameToWire(`${'a'.repeat(60)}.`.repeat(5)), /255/)
  assert.throws(() => nameToWire('a..k1.'), /empty label/)
})

test('findTsigOffset: last additional only; misplaced, duplicated or trailing data is TSIG_FORMERR', () => {
  const plain = query()
  assert.is(findTsigOffset(plain), NO_TSIG)
  const msg = signed()
  assert.is(findTsigOffset(msg), plain.length)
  // An OPT record after the TSIG (ARCOUNT 2): the TSIG is no longer last (RFC 8945 §5.1).
  const opt = Buffer.from('0000290200000000000000', 'hex')
  const after = Buffer.concat([msg, opt])
  after.writeUInt16BE(2, 10)
  assert.is(findTsigOffset(after), TSIG_FORMERR)
  assert.is(verdict(verify(after, plain.length, RING, {now: T})), 'FORMERR', 'verify at the old offset: not last')
  const twice = signed(msg)
  assert.is(findTsigOffset(twice), TSIG_FORMERR)
  // A TSIG counted in the answer section.
  const inAnswer = Buffer.from(msg)
  inAnswer.writeUInt16BE(1, 6)
  inAnswer.writeUInt16BE(0, 10)
  assert.is(findTsigOffset(inAnswer), TSIG_FORMERR)
  assert.is(findTsigOffset(Buffer.concat([msg, Buffer.from([0])])), TSIG_FORMERR, 'trailing byte')
  // An OPT before the TSIG is fine.
  const withOpt = Buffer.concat([plain, opt])
  withOpt.writeUInt16BE(1, 10)
  const s = signed(withOpt)
  assert.is(findTsigOffset(s), withOpt.length)
  assert.ok(check(s).ok)
})

test('findTsigOffset and verify are bounded on hostile input', () => {
  // Counts that cannot fit in 25 bytes.
  const counts = Buffer.alloc(25)
  counts.writeUInt16BE(0xffff, 4)
  counts.writeUInt16BE(0xffff, 10)
  // 1300 answers (pointers reach 16 KB), each owner a pointer to the previous owner: the chained-pointer
  // blow-up dns-packet suffers; quadratic without a hop bound.
  const n = 1300
  const header = Buffer.alloc(12)
  header.writeUInt16BE(n, 6)
  const rrs = [Buffer.from('0000010001000000000000', 'hex')]
  for (let i = 1, prev = 12; i < n; i++) {
    rrs.push(Buffer.concat([Buffer.from([0xc0 | (prev >> 8), prev & 0xff]), Buffer.from('00010001000000000000', 'hex')]))
    prev = 12 + 11 + (i - 1) * 12
  }
  const chain = Buffer.concat([header, ...rrs])
  for (const [name, msg] of [['impossible counts', counts], ['pointer chain', chain]] as const) {
    const t0 = performance.now()
    assert.is(findTsigOffset(msg), TSIG_FORMERR, name)
    for (const off of [12, 13, msg.length - 2, -1, msg.length + 5, Number.NaN]) {
      assert.is(verdict(verify(msg, off, RING)), 'FORMERR', `${name} at ${off}`)
    }
    assert.ok(performance.now() - t0 < 500, `${name} took ${performance.now() - t0} ms (limit: ~10x the idle figure)`)
  }
  // The same chain kept under 64 hops is a valid message: the bound refuses depth, not compression.
  const shortChain = Buffer.concat([header, ...rrs.slice(0, 60)])
  shortChain.writeUInt16BE(60, 6)
  assert.is(findTsigOffset(shortChain), NO_TSIG)
})

test('tsigErrorResponse: unsigned BADKEY/BADSIG, signed BADTIME with our clock, FORMERR without TSIG', () => {
  const request = signed()
  const reqMac = parseTsigRecord(request, findTsigOffset(request)) as TsigRecord
  const replyBase = Buffer.from(query())
  replyBase[2] = replyBase[2]! | 0x80
  const fail = (ring = RING, now = T) => check(request, ring, now) as VerifyFailure

  for (const [name, failure, err] of [
    ['BADKEY', fail(createKeyring([])), 17],
    ['BADSIG', fail(createKeyring([createTsigKey('k1', 'hmac-sha256', Buffer.from('x'))])), 16],
  ] as const) {
    const reply = tsigErrorResponse(replyBase, failure, {now: T + 5})
    assert.is(reply[3]! & 0x0f, 9, `${name}: RCODE NOTAUTH`)
    const r = parseTsigRecord(reply, findTsigOffset(reply)) as TsigRecord
    assert.is(r.mac.length, 0, `${name}: unsigned`)
    assert.is(r.error, err)
    assert.is(r.keyName, 'k1.')
    assert.is(r.algorithmName, 'hmac-sha256.')
  }

  const now = T + 1000
  const badtime = tsigErrorResponse(replyBase, fail(RING, now), {now})
  assert.is(badtime[3]! & 0x0f, 9)
  const bt = verify(badtime, findTsigOffset(badtime), RING, {requestMac: reqMac.mac, now: T})
  assert.ok(bt.ok, 'the BADTIME reply is signed with the request MAC chained')
  if (bt.ok) {
    assert.is(bt.record.error, 18)
    assert.is(bt.timeSigned, T, 'Time Signed echoes the request')
    assert.is(bt.record.otherData.readUIntBE(0, 6), now, 'Other Data is our clock')
  }

  const formerrReply = tsigErrorResponse(replyBase, verify(request, 12, RING) as VerifyFailure)
  assert.is(formerrReply[3]! & 0x0f, 1)
  assert.is(formerrReply.length, replyBase.length)
  assert.is(findTsigOffset(formerrReply), NO_TSIG)
})

test('property: sign/verify round-trips any message, key, time, fudge, error and other data', () => {
  fc.assert(fc.property(
    fc.constantFrom(...tsigAlgorithms), fc.uint8Array({minLength: 1, maxLength: 64}), fc.integer({min: 0, max: 2 ** 48 - 1}),
    fc.integer({min: 0, max: 0xffff}), fc.integer({min: 0, max: 0xffff}), fc.uint8Array({maxLength: 40}), fc.integer({min: 0, max: 0xffff}),
    (alg, secret, time, fudge, error, other, id) => {
      const key = createTsigKey('a.b', alg.name, Buffer.from(secret))
      const msg = sign(query(id), key, {timeSigned: time, fudge, error, otherData: Buffer.from(other)}).message
      const v = verify(msg, findTsigOffset(msg), createKeyring([key]), {now: time})
      return v.ok && v.record.error === error && v.record.otherData.equals(Buffer.from(other)) && v.fudge === fudge
    }), {numRuns: 300})
})

test('property: verify never throws and never accepts a mutated message', () => {
  const msg = signed()
  const off = findTsigOffset(msg)
  fc.assert(fc.property(
    fc.array(fc.tuple(fc.nat(msg.length - 1), fc.integer({min: 1, max: 255})), {minLength: 1, maxLength: 4}), fc.integer({min: -2, max: msg.length + 2}),
    (flips, offset) => {
      const bad = Buffer.from(msg)
      for (const [i, x] of flips) if (i >= 2) bad[i] = bad[i]! ^ x // header ID is not signed (RFC 8945 §4.3.2)
      const changed = !bad.equals(msg)
      const caseOnly = flips.every(([i, x]) => i < 2 || (x === 0x20 && i >= off && /[a-z]/i.test(String.fromCharCode(msg[i]!))))
      for (const at of [findTsigOffset(bad), off, offset]) {
        const v = verify(bad, at, RING, {now: T})
        if (v.ok && changed && !caseOnly) return false
      }
      return true
    }), {numRuns: 3000})
  fc.assert(fc.property(fc.uint8Array({maxLength: 300}), fc.integer({min: -1, max: 310}), (bytes, at) => {
    const b = Buffer.from(bytes)
    findTsigOffset(b)
    return !verify(b, at, RING).ok
  }), {numRuns: 3000})
})

test('sign() refuses what cannot be signed', () => {
  assert.throws(() => sign(Buffer.alloc(11), KEY), /shorter than a DNS header/)
  const full = query()
  full.writeUInt16BE(0xffff, 10)
  assert.throws(() => sign(full, KEY), /ARCOUNT/)
})

test.run()
