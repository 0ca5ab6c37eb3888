// Field schemas: each accepts and normalises the good forms and refuses the bad ones with its expected phrase.
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {z} from 'zod'
import * as fc from 'fast-check'
import {
  base64Secret, dnsName, durationMs, ipAddress, ipv4Address, ipv6Address, listenSpec, ListenAddress, parseIPv4,
  prefix, tsigAlgorithm, tsigKey, ttl, wildcardDnsName, port,
} from '../../src/state/fields.js'
import {validateState} from '../../src/state/validate-state.js'

/** Validates `{f: input}` from a file "f.json" and returns the field's output or the one-line error. */
function run(schema: z.ZodType, input: unknown): {ok: unknown} | {err: string} {
  try {
    return {ok: validateState('f.json', {f: input}, z.object({f: schema})).f}
  } catch (e) {
    return {err: (e as Error).message}
  }
}

type Case = [input: unknown, expected: unknown]
const good: Array<[string, z.ZodType, Case[]]> = [
  ['ipAddress', ipAddress, [['192.0.2.1', '192.0.2.1'], ['2001:DB8:0:0::1', '2001:db8::1'], ['::ffff:192.0.2.1', '::ffff:192.0.2.1'], ['::', '::']]],
  ['ipv4Address', ipv4Address, [['0.0.0.0', '0.0.0.0'], ['255.255.255.255', '255.255.255.255']]],
  ['ipv6Address', ipv6Address, [['2001:0db8::0001', '2001:db8::1']]],
  ['prefix', prefix, [['10.0.0.0/8', '10.0.0.0/8'], ['0.0.0.0/0', '0.0.0.0/0'], ['192.0.2.1/32', '192.0.2.1/32'], ['2001:DB8::/32', '2001:db8::/32'], ['::/0', '::/0']]],
  ['dnsName', dnsName, [['WWW.Example.COM', 'www.example.com.'], ['example.com.', 'example.com.'], ['.', '.'], ['_dns._udp.x', '_dns._udp.x.'], ['a'.repeat(63) + '.b', 'a'.repeat(63) + '.b.']]],
  ['wildcardDnsName', wildcardDnsName, [['*.Example.com', '*.example.com.'], ['*', '*.']]],
  ['ttl', ttl, [[0, 0], [300, 300], [2 ** 31 - 1, 2 ** 31 - 1]]],
  ['port', port, [[0, 0], [53, 53], [65535, 65535]]],
  ['durationMs', durationMs, [[0, 0], [250, 250], ['250ms', 250], ['1.5s', 1500], ['5m', 300000], ['1h', 3600000]]],
  ['tsigAlgorithm', tsigAlgorithm, [['HMAC-SHA256', 'hmac-sha256'], ['hmac-md5.sig-alg.reg.int.', 'hmac-md5'], ['hmac-sha512.', 'hmac-sha512']]],
  ['base64Secret', base64Secret, [['c2VjcmV0', 'c2VjcmV0'], ['YQ==', 'YQ==']]],
]

for (const [name, schema, cases] of good) {
  test(`${name} accepts and normalises`, () => {
    for (const [input, want] of cases) {
      const r = run(schema, input)
      assert.ok('ok' in r, `${name} ${JSON.stringify(input)}: ${'err' in r ? r.err : ''}`)
      assert.equal((r as {ok: unknown}).ok, want, `${name} ${JSON.stringify(input)}`)
    }
  })
}

const bad: Array<[string, z.ZodType, Array<[unknown, RegExp]>]> = [
  ['ipAddress', ipAddress, [['10.0.0.x', /^f\.json: f: expected an IPv4 or IPv6 address, got "10\.0\.0\.x"$/], ['010.0.0.1', /IPv4 or IPv6/], ['10.1', /IPv4 or IPv6/], ['fe80::1%eth0', /zone ids/], ['10.0.0.0/8', /drop the \/length/], [7, /expected an IPv4 or IPv6 address, got number 7/]]],
  ['ipv4Address', ipv4Address, [['::1', /IPv4 address/], ['256.0.0.1', /IPv4 address/], ['1.2.3.4.5', /IPv4/]]],
  ['ipv6Address', ipv6Address, [['1.2.3.4', /IPv6 address/]]],
  ['prefix', prefix, [['10.0.0.1/8', /host bits zero.*got "10\.0\.0\.1\/8" \(did you mean 10\.0\.0\.0\/8\?\)$/], ['10.0.0.0', /prefix/], ['10.0.0.0/33', /0\.\.32/], ['2001:db8::1/32', /did you mean 2001:db8::\/32\?/], ['10.0.0.0/08', /prefix/], ['x/8', /prefix/]]],
  ['dnsName', dnsName, [['a..b', /doubled or leading dot/], ['', /DNS name/], ['a b', /letters, digits/], ['bücher.de', /punycode/], ['a'.repeat(64) + '.com', /limit is 63/], [Array(5).fill('a'.repeat(63)).join('.'), /limit is 255/], ['*.example.com', /DNS name/], [1, /expected a string, got number 1|DNS name/]]],
  ['wildcardDnsName', wildcardDnsName, [['a.*.com', /letters, digits/], ['*a.com', /letters/]]],
  ['ttl', ttl, [['30', /expected a number, got string "30"$/], [-1, /TTL/], [1.5, /TTL/], [2 ** 31, /TTL/]]],
  ['port', port, [[65536, /port/], [-1, /port/]]],
  ['durationMs', durationMs, [['5 min', /duration/], [-5, /duration/], [1.5, /duration/], [true, /duration/]]],
  ['tsigAlgorithm', tsigAlgorithm, [['hmac-sha3', /TSIG algorithm/]]],
  ['base64Secret', base64Secret, [['not base64!', /base64/], ['', /base64/], ['abc', /base64/]]],
]

for (const [name, schema, cases] of bad) {
  test(`${name} refuses with its expected phrase`, () => {
    for (const [input, re] of cases) {
      const r = run(schema, input)
      assert.ok('err' in r, `${name} ${JSON.stringify(input)} should fail, got ${JSON.stringify((r as any).ok)}`)
      assert.match((r as {err: string}).err, re, `${name} ${JSON.stringify(input)}`)
      assert.not.match((r as {err: string}).err, /\n/)
    }
  })
}

test('listenSpec parses ADDR[:PORT] and [v6]:PORT, uses the default port, and round-trips through JSON', () => {
  const l53 = listenSpec(53)
  const table: Array<[string, string]> = [
    ['127.0.0.1', '127.0.0.1:53'], ['127.0.0.1:5300', '127.0.0.1:5300'], ['[::1]:5300', '[::1]:5300'],
    ['[::1]', '[::1]:53'], ['::1', '[::1]:53'], ['0.0.0.0:0', '0.0.0.0:0'], ['[2001:DB8::1]:53', '[2001:db8::1]:53'],
  ]
  for (const [input, want] of table) {
    const r = run(l53, input)
    assert.ok('ok' in r, input)
    const v = (r as {ok: ListenAddress}).ok
    assert.instance(v, ListenAddress)
    assert.is(JSON.stringify(v), JSON.stringify(want), input)
  }
  for (const input of ['localhost:53', '1.2.3.4:99999', '[1.2.3.4]:53', '1.2.3.4:', '1.2.3.4:x']) {
    assert.ok('err' in run(l53, input), input)
  }
  assert.match((run(listenSpec(), '127.0.0.1') as {err: string}).err, /add :PORT/)
})

test('tsigKey defaults the algorithm and normalises the name', () => {
  const r = run(tsigKey, {name: 'Key1.Example', secret: 'c2VjcmV0'})
  assert.equal((r as {ok: unknown}).ok, {name: 'key1.example.', algorithm: 'hmac-sha256', secret: 'c2VjcmV0'})
})

test('parseIPv4 agrees with node:net on random dotted strings', async () => {
  const {isIPv4} = await import('node:net')
  const part = fc.oneof(fc.integer({min: 0, max: 300}).map(String), fc.constantFrom('00', '01', '', 'a', '-1', '1e2'))
  fc.assert(fc.property(fc.array(part, {minLength: 1, maxLength: 6}), (parts) => {
    const s = parts.join('.')
    assert.is(parseIPv4(s) >= 0, isIPv4(s), s)
  }), {numRuns: 5000})
})

test.run()
