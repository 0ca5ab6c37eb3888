// Prefix text form and containment.
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import {maskAddress, parseAddress} from '../../src/mapping/address.js'
import {formatPrefix, parsePrefix, prefixContains, prefixEquals, prefixProblem} from '../../src/mapping/prefix.js'

const cases: [string, string | null][] = [
  ['10.1.0.0/16', '10.1.0.0/16'],
  ['127.0.1.53', '127.0.1.53/32'],
  ['2001:db8::/32', '2001:db8::/32'],
  ['::1', '::1/128'],
  ['10.1.0.1/16', null], // host bits set
  ['10.1.0.0/33', null],
  ['10.1.0.0/0', null], // lengths start at 1 (RPZ names cannot say /0)
  ['10.1.0.0/016', null],
  ['10.1.0.0/', null],
  ['2001:db8::/129', null],
  ['2001:db8::1/64', null],
  ['nonsense/8', null],
]

test('parsePrefix: table', () => {
  for (const [s, want] of cases) {
    const p = parsePrefix(s)
    assert.is(p === null ? null : formatPrefix(p), want, s)
  }
})

test('prefixProblem names what is wrong', () => {
  assert.match(prefixProblem({addr: 0x0a010001, len: 16})!, /beyond \/16/)
  assert.match(prefixProblem({addr: 1.5, len: 16})!, /not a uint32/)
  assert.match(prefixProblem({addr: new Uint8Array(4), len: 16})!, /16 bytes/)
  assert.is(prefixProblem({addr: 0x0a010000, len: 16}), null)
})

test('prefixContains agrees with masking', () => {
  fc.assert(
    fc.property(fc.integer({min: 0, max: 0xffffffff}), fc.integer({min: 0, max: 0xffffffff}), fc.integer({min: 1, max: 32}), (a, b, len) => {
      const p = {addr: maskAddress(a, len), len}
      return prefixContains(p, b) === (maskAddress(b, len) === p.addr)
    }),
  )
  const p = parsePrefix('2001:db8::/32')!
  assert.ok(prefixContains(p, parseAddress('2001:db8:ffff::1')!))
  assert.not.ok(prefixContains(p, parseAddress('2001:db9::1')!))
  assert.not.ok(prefixContains(p, 0x20010db8))
  assert.ok(prefixEquals(p, parsePrefix('2001:0db8:0::/32')!))
  assert.not.ok(prefixEquals(p, parsePrefix('2001:db8::/33')!))
})

test.run()
