// parseKeySpec/createKeyring: the -y formats dig and nsupdate take, and one-line errors that never leak the secret.
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import {createKeyring, createTsigKey, parseKeySpec, TsigKeyError} from '../../../src/dns/tsig/tsig-keyring.js'

const SECRET = 'c2VjcmV0LXNlY3JldC1zZWNyZXQ='

test('parseKeySpec accepts the dig/nsupdate -y forms', () => {
  const cases: Array<[string, string, string, number]> = [
    [`hmac-sha256:k1:${SECRET}`, 'k1.', 'hmac-sha256.', 32],
    // glb's default when no algorithm is given is hmac-sha256 (RFC 8945 §6); BIND's tools default to hmac-md5.
    [`k1:${SECRET}`, 'k1.', 'hmac-sha256.', 32],
    [`HMAC-SHA512:Key.Example.Test.:${SECRET}`, 'key.example.test.', 'hmac-sha512.', 64],
    [`hmac-md5:k1:${SECRET}`, 'k1.', 'hmac-md5.sig-alg.reg.int.', 16],
    [`hmac-md5.sig-alg.reg.int:k1:${SECRET}`, 'k1.', 'hmac-md5.sig-alg.reg.int.', 16],
    [`hmac-sha1:k1:${SECRET}`, 'k1.', 'hmac-sha1.', 20],
    [`hmac-sha224:k1:${SECRET}`, 'k1.', 'hmac-sha224.', 28],
    [`hmac-sha384:k1:${SECRET}`, 'k1.', 'hmac-sha384.', 48],
    // BIND's truncated-MAC notation: algorithm-BITS.
    [`hmac-sha256-128:k1:${SECRET}`, 'k1.', 'hmac-sha256.', 16],
    [`hmac-sha1-80:k1:${SECRET}`, 'k1.', 'hmac-sha1.', 10],
    [`  hmac-sha256:k1:${SECRET}\n`, 'k1.', 'hmac-sha256.', 32],
  ]
  for (const [spec, name, alg, macSize] of cases) {
    const key = parseKeySpec(spec)
    assert.is(key.name, name, spec)
    assert.is(key.algorithm.name, alg, spec)
    assert.is(key.macSize, macSize, spec)
    assert.equal(key.secret, Buffer.from(SECRET, 'base64'), spec)
  }
})

test('parseKeySpec refuses bad specs with one line that names the problem and omits the secret', () => {
  const cases: Array<[string, RegExp]> = [
    [SECRET, /must be "\[algorithm:\]name:base64-secret"/],
    [`a:b:c:${SECRET}`, /must be/],
    [`hmac-sha999:k1:${SECRET}`, /unknown algorithm "hmac-sha999"/],
    [`${SECRET}:k1:${SECRET}`, /unknown algorithm in the first field/],
    [`hmac-sha256-64:k1:${SECRET}`, /128 to 256 bits/],
    [`hmac-sha256-129:k1:${SECRET}`, /multiple of 8/],
    [`hmac-sha256-512:k1:${SECRET}`, /128 to 256 bits/],
    [`hmac-md5-72:k1:${SECRET}`, /80 to 128 bits/],
    ['hmac-sha256:k1:not base64!', /secret is not valid base64/],
    ['hmac-sha256:k1:', /must be|not valid base64/],
    ['hmac-sha256:k1:QQ=Q', /not valid base64/],
    [`hmac-sha256::${SECRET}`, /key name/],
    [`hmac-sha256:a..b:${SECRET}`, /empty label/],
    [`hmac-sha256:${'x'.repeat(64)}:${SECRET}`, /63 bytes/],
    [`hmac-sha256:${'abcdefgh.'.repeat(29)}:${SECRET}`, /255 bytes/],
    [`hmac-sha256:k\\001:${SECRET}`, /not a plain domain name/],
    [`hmac-sha256:${SECRET}+/=:k1`, /not a plain domain name/],
  ]
  for (const [spec, want] of cases) {
    let err: unknown
    try {
      parseKeySpec(spec)
    } catch (e) {
      err = e
    }
    assert.instance(err, TsigKeyError, spec)
    const message = (err as Error).message
    assert.match(message, want, spec)
    assert.not.match(message, /\n/, 'one line')
    assert.not.ok(message.includes(SECRET) || message.includes('c2VjcmV0'), `leaks the secret: ${message}`)
  }
})

test('property: no parse error ever contains the secret field', () => {
  fc.assert(fc.property(fc.string({maxLength: 20}), fc.string({maxLength: 30}), fc.base64String({minLength: 8, maxLength: 44}), (alg, name, secret) => {
    for (const spec of [`${alg}:${name}:${secret}`, `${name}:${secret}`, `${secret}:${name}:${alg}`]) {
      try {
        parseKeySpec(spec)
      } catch (e) {
        if (!(e instanceof TsigKeyError) || (secret.length >= 8 && e.message.includes(secret))) return false
      }
    }
    return true
  }), {numRuns: 2000})
})

test('createKeyring keys by lowercased FQDN and refuses duplicates', () => {
  const a = createTsigKey('K1.Example', 'hmac-sha256', Buffer.from('x'))
  const ring = createKeyring([a, createTsigKey('k2', 'hmac-sha1', Buffer.from('y'))])
  assert.is(ring.get('k1.example.')?.algorithm.name, 'hmac-sha256.')
  assert.is(ring.size, 2)
  assert.throws(() => createKeyring([a, createTsigKey('k1.example.', 'hmac-md5', Buffer.from('z'))]), /defined twice/)
  assert.throws(() => createTsigKey('k1', 'hmac-sha256', Buffer.alloc(0)), /empty secret/)
})

test.run()
