// Property tests (fast-check) for the wire helpers test/dns does not cover: ECS parse/encode, OPT options, and the
// presentation-name helpers on names with any octets (escapes), which every role's question passes through.
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import {EdnsOption} from '../../src/dns/wire/constants.js'
import {encodeEcs, encodeEcsOption, parseEcs, parseOpt, type ClientSubnet} from '../../src/dns/wire/edns.js'
import {canonicalName, isSubdomain, labelCount, nameToLabels, nameToWire, parentName, readName, readQuestionName} from '../../src/dns/wire/name.js'
import {readMessage} from '../../src/dns/wire/reader.js'
import {MessageWriter} from '../../src/dns/wire/writer.js'
import {WireError} from '../../src/dns/wire/wire-error.js'

const RUNS = {numRuns: 2000}

// ---- ECS (RFC 7871) ------------------------------------------------------------------------------------

const ecsArb: fc.Arbitrary<ClientSubnet> = fc.oneof(
  fc.record({family: fc.constant(4 as const), sourceLen: fc.integer({min: 0, max: 32}), scopeLen: fc.integer({min: 0, max: 32}), address: fc.uint8Array({minLength: 4, maxLength: 4}).map((a) => Buffer.from(a))}),
  fc.record({family: fc.constant(6 as const), sourceLen: fc.integer({min: 0, max: 128}), scopeLen: fc.integer({min: 0, max: 128}), address: fc.uint8Array({minLength: 16, maxLength: 16}).map((a) => Buffer.from(a))}),
)

/** The address with every bit past `len` cleared. */
function masked(address: Buffer, len: number): Buffer {
  const out = Buffer.alloc(address.length)
  for (let bit = 0; bit < len; bit++) if (address[bit >> 3]! & (0x80 >> (bit & 7))) out[bit >> 3]! |= 0x80 >> (bit & 7)
  return out
}

test('ECS: encode then parse gives the subnet back with host bits cleared, in ceil(source/8) address octets', () => {
  fc.assert(fc.property(ecsArb, (ecs) => {
    const data = encodeEcs(ecs)
    assert.is(data.length, 4 + Math.ceil(ecs.sourceLen / 8))
    const back = parseEcs(data)
    assert.equal({...back, address: [...back.address]}, {...ecs, address: [...masked(ecs.address, ecs.sourceLen)]})
  }), RUNS)
})

test('ECS: any octets either parse to a subnet that re-encodes to the same octets, or throw WireError', () => {
  const near = fc.tuple(fc.constantFrom(0, 1, 2, 3), fc.integer({min: 0, max: 255}), fc.integer({min: 0, max: 255}), fc.uint8Array({maxLength: 20}))
    .map(([fam, src, scope, rest]) => Buffer.concat([Buffer.from([0, fam, src, scope]), Buffer.from(rest)]))
  fc.assert(fc.property(fc.oneof(near, fc.uint8Array({maxLength: 24}).map((a) => Buffer.from(a))), (data) => {
    let ecs: ClientSubnet
    try {
      ecs = parseEcs(data)
    } catch (err) {
      assert.instance(err, WireError)
      return
    }
    assert.ok(ecs.sourceLen <= (ecs.family === 4 ? 32 : 128) && ecs.scopeLen <= (ecs.family === 4 ? 32 : 128))
    assert.equal([...encodeEcs(ecs)], [...data], 'only the canonical form is accepted')
  }), RUNS)
})

test('OPT: options encoded back to back parse to the same list; ECS among them is read; lengths that lie throw', () => {
  const opt = fc.record({code: fc.integer({min: 0, max: 0xffff}).filter((c) => c !== EdnsOption.ECS), data: fc.uint8Array({maxLength: 40}).map((a) => Buffer.from(a))})
  fc.assert(fc.property(fc.array(opt, {maxLength: 6}), fc.option(ecsArb, {nil: undefined}), fc.integer({min: 0, max: 0xffffffff}), (opts, ecs, ttl) => {
    const parts: Buffer[] = opts.map((o) => Buffer.concat([Buffer.from([o.code >> 8, o.code & 0xff, o.data.length >> 8, o.data.length & 0xff]), o.data]))
    if (ecs) parts.push(encodeEcsOption(ecs))
    const rdata = Buffer.concat(parts)
    const e = parseOpt(1232, ttl, rdata)
    assert.is(e.options.length, opts.length + (ecs ? 1 : 0))
    opts.forEach((o, i) => { assert.is(e.options[i]!.code, o.code); assert.equal([...e.options[i]!.data], [...o.data]) })
    assert.is(e.ecs === null, !ecs)
    assert.is(e.version, (ttl >>> 16) & 0xff)
    assert.is(e.do, (ttl & 0x8000) !== 0)
    if (rdata.length > 0) {
      // Cutting the RDATA anywhere inside the last option must be refused, never read past.
      assert.throws(() => parseOpt(1232, ttl, rdata.subarray(0, rdata.length - 1)), (err: unknown) => err instanceof WireError)
    }
  }), RUNS)
})

// ---- names ----------------------------------------------------------------------------------------------

/** A wire name of random labels (any octets, 1..63 each, at most 255 octets in all). */
const wireName = fc.array(fc.uint8Array({minLength: 1, maxLength: 20}), {maxLength: 8}).map((labels) => {
  const parts: Buffer[] = []
  let total = 1
  for (const l of labels) {
    if (total + l.length + 1 > 255) break
    parts.push(Buffer.from([l.length]), Buffer.from(l))
    total += l.length + 1
  }
  return {labels: parts.length / 2, wire: Buffer.concat([...parts, Buffer.from([0])])}
})
/** Labels drawn from octets that need escapes (dot, backslash, digits after a backslash, spaces, high octets). */
const trickyName = fc.array(fc.array(fc.constantFrom(0x2e, 0x5c, 0x30, 0x39, 0x20, 0x61, 0x41, 0xff, 0x00), {minLength: 1, maxLength: 6}), {minLength: 1, maxLength: 6})
  .map((labels) => ({labels: labels.length, wire: Buffer.concat([...labels.flatMap((l) => [Buffer.from([l.length]), Buffer.from(l)]), Buffer.from([0])])}))
const anyName = fc.oneof(wireName, trickyName)

/** The wire name with ASCII letters folded to lowercase (what the reader's text stands for). */
function lowerWire(wire: Buffer): Buffer {
  return Buffer.from(wire.map((c) => (c >= 0x41 && c <= 0x5a ? c | 0x20 : c)))
}

test('names: wire -> text (readName, readQuestionName) -> wire (nameToWire) is the identity, whatever the octets', () => {
  fc.assert(fc.property(anyName, ({wire}) => {
    const text = readName(wire, 0, false).name
    assert.equal([...nameToWire(text)], [...wire], `"${text}"`)
    const lower = readQuestionName(wire, 0).name
    assert.equal([...nameToWire(lower)], [...lowerWire(wire)], `"${lower}"`)
    assert.is(readName(wire, 0).name, lower, 'both readers give the same text')
  }), RUNS)
})

test('names: labelCount, parentName, canonicalName and isSubdomain agree with the wire labels', () => {
  fc.assert(fc.property(anyName, ({labels, wire}) => {
    const text = readName(wire, 0).name
    assert.is(labelCount(text), labels, `labelCount("${text}")`)
    assert.is(nameToLabels(text).length, labels, `nameToLabels("${text}")`)
    assert.is(canonicalName(text), text, `canonicalName("${text}") keeps a canonical name`)
    if (labels > 0) {
      const parentWire = wire.subarray(1 + wire[0]!)
      const parent = readName(parentWire, 0).name
      assert.is(parentName(text), parent, `parentName("${text}")`)
      assert.ok(isSubdomain(text, parent), `"${text}" is below "${parent}"`)
    }
  }), RUNS)
})

test('the writer compresses against the question correctly, whatever octets the question name holds', () => {
  fc.assert(fc.property(anyName, fc.integer({min: 0, max: 4}), ({labels, wire}, drop) => {
    const text = readName(wire, 0).name
    // An owner that is a suffix of the question: the writer points into the question at that suffix.
    let suffixWire = wire
    for (let i = 0; i < Math.min(drop, labels); i++) suffixWire = suffixWire.subarray(1 + suffixWire[0]!)
    const suffix = readName(suffixWire, 0).name
    const w = new MessageWriter(64)
    w.header(1, 0x8400, 1, 1, 0, 0)
    w.rawName(wire, text)
    w.u16(16); w.u16(1)
    w.rr({name: suffix, type: 16, ttl: 0, data: ['x']})
    const m = readMessage(w.finish())
    assert.is(m.answers[0]!.name, suffix, `owner "${suffix}" after question "${text}"`)
  }), RUNS)
})

test.run()
