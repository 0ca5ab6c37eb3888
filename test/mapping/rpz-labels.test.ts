// RPZ client-ip names of prefixes: BIND's examples, strict rejection, and round-trip properties.
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import {maskAddress} from '../../src/mapping/address.js'
import {formatPrefix, parsePrefix} from '../../src/mapping/prefix.js'
import type {Prefix} from '../../src/mapping/prefix.js'
import {labelsToPrefix, prefixToLabels} from '../../src/mapping/rpz-labels.js'

const named: [string, string][] = [
  ['127.0.1.53/32', '32.53.1.0.127'],
  ['10.1.0.0/16', '16.0.0.1.10'],
  ['128.0.0.0/1', '1.0.0.0.128'],
  ['2001:db8::/32', '32.zz.db8.2001'],
  ['::1/128', '128.1.zz'],
  ['::/1', '1.zz'],
  ['2001:db8::1:0:0:1/128', '128.1.0.0.1.zz.db8.2001'], // BIND ip2name's own tie example
  ['1:2:3:4:5:6:7:8/128', '128.8.7.6.5.4.3.2.1'],
  ['1:0:3:4:5:6:7:8/128', '128.8.7.6.5.4.3.0.1'], // a single zero group is not compressed
  ['ffff::/16', '16.zz.ffff'],
]

test('prefixToLabels / labelsToPrefix: named cases both ways', () => {
  for (const [text, name] of named) {
    const p = parsePrefix(text)!
    assert.ok(p, text)
    assert.is(prefixToLabels(p).join('.'), name, text)
    const back = labelsToPrefix(name.split('.'))
    assert.ok(back, name)
    assert.is(formatPrefix(back!), text, name)
  }
})

test('labelsToPrefix is case-insensitive, as DNS names are', () => {
  assert.is(formatPrefix(labelsToPrefix('32.ZZ.DB8.2001'.split('.'))!), '2001:db8::/32')
})

const rejected: [string, string][] = [
  ['0.0.0.0.0', 'length 0 (BIND accepts 1-128)'],
  ['33.53.1.0.127', 'IPv4 length over 32'],
  ['129.zz', 'IPv6 length over 128'],
  ['24.53.1.0.127', 'host bits set beyond /24'],
  ['32.256.1.0.127', 'octet over 255'],
  ['32.053.1.0.127', 'leading zero in an octet'],
  ['032.53.1.0.127', 'leading zero in the length'],
  ['32.1.0.127', 'three octets'],
  ['32.-1.1.0.127', 'sign'],
  ['32.zz.0db8.2001', 'leading zero in a group'],
  ['32.zz.10000.2001', 'group over ffff'],
  ['32.0.0.0.0.0.0.db8.2001', 'uncompressed zero run'],
  ['128.1.zz.0.1.0.0.db8.2001', 'zz not on the first longest run'],
  ['128.1.zz.1.zz.2', 'two zz'],
  ['128.8.7.6.5.4.zz.3.2.1', 'zz standing for no group'],
  ['128.8.7.6.5.zz.3.2.1', 'zz standing for a single zero group'],
  ['128.1.2.3.4.5.6.7', 'seven groups, no zz'],
  ['32', 'no address'],
  ['x.zz', 'length not a number'],
  ['32.zz.db8.2001.', 'empty label'],
]

test('labelsToPrefix rejects malformed and non-canonical names', () => {
  for (const [name, why] of rejected) assert.is(labelsToPrefix(name.split('.')), null, `${name}: ${why}`)
})

test('prefixToLabels refuses an invalid prefix', () => {
  assert.throws(() => prefixToLabels({addr: 0x0a010001, len: 16}), /beyond \/16/)
  assert.throws(() => prefixToLabels({addr: 0, len: 0}), /outside 1-32/)
})

// Random valid prefixes, with zero groups frequent enough that "zz" placement is exercised.
const v4Prefix: fc.Arbitrary<Prefix> = fc
  .tuple(fc.integer({min: 0, max: 0xffffffff}), fc.integer({min: 1, max: 32}))
  .map(([a, len]) => ({addr: maskAddress(a, len), len}))
const v6Prefix: fc.Arbitrary<Prefix> = fc
  .tuple(fc.array(fc.constantFrom(0, 0, 0, 1, 0xdb8, 0xffff, 0x8000), {minLength: 8, maxLength: 8}), fc.integer({min: 1, max: 128}))
  .map(([words, len]) => {
    const b = new Uint8Array(16)
    words.forEach((w, i) => {
      b[i * 2] = w >>> 8
      b[i * 2 + 1] = w & 0xff
    })
    return {addr: maskAddress(b, len), len}
  })

test('property: labelsToPrefix(prefixToLabels(p)) is p', () => {
  fc.assert(
    fc.property(fc.oneof(v4Prefix, v6Prefix), (p) => {
      const back = labelsToPrefix(prefixToLabels(p))
      assert.ok(back)
      assert.is(formatPrefix(back!), formatPrefix(p))
    }),
    {numRuns: 5000},
  )
})

test('property: any label list either fails or is the canonical name of what it decodes to', () => {
  const label = fc.constantFrom('0', '1', '8', '16', '24', '32', '64', '128', '255', '256', 'zz', 'ZZ', 'db8', '2001', 'ffff', '01', 'z', '')
  fc.assert(
    fc.property(fc.array(label, {minLength: 1, maxLength: 10}), (labels) => {
      const p = labelsToPrefix(labels)
      if (p === null) return true
      return prefixToLabels(p).join('.') === labels.join('.').toLowerCase()
    }),
    {numRuns: 20000},
  )
})

test.run()
