// Address codec: strict parsing against Node's own validator, RFC 5952 text, masking for ECS.
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import {isIP} from 'node:net'
import {
  formatAddress,
  formatIPv6,
  hostBitsClear,
  maskAddress,
  parseAddress,
  parseIPv4,
  parseIPv6Into,
} from '../../src/mapping/address.js'

const v4Cases: [string, number][] = [
  ['0.0.0.0', 0],
  ['127.0.0.1', 0x7f000001],
  ['255.255.255.255', 0xffffffff],
  ['10.1.0.0', 0x0a010000],
  ['01.2.3.4', -1], // leading zero: inet_aton would read octal
  ['1.2.3.256', -1],
  ['1.2.3', -1],
  ['1.2.3.4.5', -1],
  ['1..2.3', -1],
  ['1.2.3.4 ', -1],
  ['', -1],
  ['a.b.c.d', -1],
  ['1.2.3.-4', -1],
]

test('parseIPv4: table', () => {
  for (const [s, want] of v4Cases) assert.is(parseIPv4(s), want, s)
})

test('parseIPv4 honours start/end', () => {
  assert.is(parseIPv4('x1.2.3.4/24', 1, 8), 0x01020304)
})

const v6Cases: [string, string | null][] = [
  ['::', '::'],
  ['::1', '::1'],
  ['2001:db8::', '2001:db8::'],
  ['2001:DB8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
  ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0'],
  ['::ffff:127.0.0.1', '::ffff:7f00:1'],
  ['1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6:102:304'],
  ['fe80::1%eth0', null], // zones are the caller's to strip
  ['1:2:3:4:5:6:7:8::', null],
  ['1::2::3', null],
  [':1', null],
  ['1:', null],
  ['12345::', null],
  ['::1.2.3', null],
  ['::01.2.3.4', null],
  ['1:2:3:4:5:6:7:1.2.3.4', null],
  ['g::', null],
]

test('parseAddress for IPv6: table, and text back out in RFC 5952 form', () => {
  for (const [s, want] of v6Cases) {
    const a = parseAddress(s)
    if (want === null) assert.is(a, null, s)
    else assert.is(a === null ? null : formatAddress(a), want, s)
  }
})

// Text that looks like an address: short runs of hex digits, dots and colons.
const addressish = fc
  .array(fc.constantFrom('0', '1', '9', 'a', 'F', 'ff', '255', '256', '01', '.', ':', '::', 'ffff', '12345', '1.2.3.4'), {maxLength: 14})
  .map((parts) => parts.join(''))

test('parseAddress accepts exactly what node:net isIP accepts (no zones)', () => {
  fc.assert(
    fc.property(addressish, (s) => {
      assert.is(parseAddress(s) !== null, isIP(s) !== 0, s)
    }),
    {numRuns: 20000},
  )
})

test('IPv6 format -> parse round trips, and matches the WHATWG URL serialiser', () => {
  fc.assert(
    fc.property(fc.array(fc.constantFrom(0, 0, 0, 1, 0xdb8, 0xffff), {minLength: 8, maxLength: 8}), (words) => {
      const b = new Uint8Array(16)
      words.forEach((w, i) => {
        b[i * 2] = w >>> 8
        b[i * 2 + 1] = w & 0xff
      })
      const text = formatIPv6(b)
      assert.is(`[${text}]`, new URL(`http://[${text}]`).hostname)
      const back = new Uint8Array(16)
      assert.ok(parseIPv6Into(text, back))
      assert.equal([...back], [...b])
    }),
  )
})

test('IPv4 format -> parse round trips', () => {
  fc.assert(fc.property(fc.integer({min: 0, max: 0xffffffff}), (a) => parseIPv4(formatAddress(a)) === a))
})

test('maskAddress zeroes exactly the bits beyond len (RFC 7871 §6)', () => {
  assert.is(maskAddress(parseIPv4('192.0.2.77'), 24), parseIPv4('192.0.2.0'))
  assert.is(maskAddress(parseIPv4('192.0.2.77'), 0), 0)
  assert.is(maskAddress(parseIPv4('192.0.2.77'), 32), parseIPv4('192.0.2.77'))
  assert.is(formatAddress(maskAddress(parseAddress('2001:db8:abcd:12ff::1')!, 52)), '2001:db8:abcd:1000::')
  assert.throws(() => maskAddress(1, 33), /outside 0-32/)
  fc.assert(
    fc.property(fc.uint8Array({minLength: 16, maxLength: 16}), fc.integer({min: 0, max: 128}), (b, len) => {
      const m = maskAddress(b, len)
      assert.ok(hostBitsClear(m, len))
      // Same leading bits: masking again is a no-op, and the masked address agrees with b on the first len bits.
      assert.equal([...maskAddress(m, len)], [...m])
      for (let bit = 0; bit < len; bit++) {
        const k = bit >> 3
        const mask = 0x80 >> (bit & 7)
        assert.is(m[k]! & mask, b[k]! & mask)
      }
    }),
  )
  fc.assert(
    fc.property(fc.integer({min: 0, max: 0xffffffff}), fc.integer({min: 0, max: 32}), (a, len) => {
      const m = maskAddress(a, len)
      return hostBitsClear(m, len) && (len === 0 || m >>> (32 - len) === a >>> (32 - len))
    }),
  )
})

test('hostBitsClear', () => {
  assert.ok(hostBitsClear(parseIPv4('10.1.0.0'), 16))
  assert.not.ok(hostBitsClear(parseIPv4('10.1.0.1'), 16))
  assert.ok(hostBitsClear(parseAddress('2001:db8::')!, 32))
  assert.not.ok(hostBitsClear(parseAddress('2001:db8::1')!, 127))
})

test.run()
