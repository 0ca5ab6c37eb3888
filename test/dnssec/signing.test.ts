// src/dnssec against published vectors (RFC 8080 §6) and an independent canonical form built with dns-packet.
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {createPrivateKey, createPublicKey, verify} from 'node:crypto'
import {dnsPacketCodecs as dnsPacket, oracleSignedData} from '../helpers/dnssec-oracle.js'
import {RRType} from '../../src/dns/wire/constants.js'
import {SigningKey} from '../../src/dnssec/signing-key.js'
import {successor, ZoneSigner} from '../../src/dnssec/zone-signer.js'
import {keyTag} from '../../src/dnssec/key-tag.js'
import {dsText, typeBitmaps, parseDsText, nsecRdata, nsecTypes} from '../../src/dnssec/rdata.js'
import {canonicalOrder} from '../../src/dnssec/canonical-rrset.js'

// RFC 8080 §6.1: an Ed25519 key given as its 32-octet seed, with its DNSKEY, DS and an RRSIG over an MX RRset.
// Ed25519 is deterministic, so signing the same RRset with the same times must give the RFC's signature.
const RFC8080_SEED = Buffer.from('ODIyNjAzODQ2MjgwODAxMjI2NDUxOTAyMDQxNDIyNjI=', 'base64')
const ed25519FromSeed = (seed: Buffer) =>
  createPrivateKey({key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]), format: 'der', type: 'pkcs8'})

test('RFC 8080 §6.1: DNSKEY, key tag, DS and the RRSIG over example.com. MX are reproduced exactly', () => {
  const key = new SigningKey('example.com.', 15, ed25519FromSeed(RFC8080_SEED))
  assert.is(key.dnskey.subarray(4).toString('base64'), 'l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4=')
  assert.is(key.keyTag, 3613)
  assert.is(dsText(key.ds()), '3613 15 2 3AA5AB37EFCE57F737FC1627013FEE07BDF241BD10F3B1964AB55C78E79A304B')
  // The RFC's window: inception 2015-07-30 00:00 UTC, expiration 2015-08-20 00:00 UTC.
  const signer = new ZoneSigner([key], {now: () => 1438207200 + 3600, period: 1, validity: 1440021600 - 1438207200 - 3600 - 1})
  const w = signer.window()
  assert.equal([w.inception, w.expiration], [1438207200, 1440021600])
  const [rrsig] = signer.sign('example.com.', RRType.MX, 3600, [{preference: 10, exchange: 'mail.example.com.'}])
  const sig = (rrsig!.data as Buffer).subarray(18 + 13)
  assert.is(sig.toString('base64'), 'oL9krJun7xfBOIWcGHi7mag5/hdZrKWw15jPGrHpjQeRAvTdszaPD+QLs3fx8A4M3e23mRZ9VrbpMngwcrqNAg==')
})

test('RFC 4034 App. B key tag of a DNSKEY given as RDATA (odd length handled)', () => {
  // A 5-octet RDATA by hand: 0x0101 + 0x0203 + 0x0400 = 0x0704.
  assert.is(keyTag(Buffer.from([1, 1, 2, 3, 4])), 0x0704)
  // Carry folds back in: 0xffff + 0x0002 = 0x10001 -> 0x0002.
  assert.is(keyTag(Buffer.from([0xff, 0xff, 0x00, 0x02])), 0x0002)
})

test('NSEC type bit maps: windows, lengths and bits as RFC 4034 §4.3 shows them', () => {
  // RFC 4034 §4.3: A MX RRSIG NSEC TYPE1234.
  assert.is(typeBitmaps([1, 15, 46, 47, 1234]).toString('hex'),
    '0006' + '400100000003' + '041b' + '000000000000000000000000000000000000000000000000000020')
  assert.is(typeBitmaps([]).length, 0)
  // Read back: the types come out sorted, whatever order they went in.
  assert.equal(nsecTypes(nsecRdata('host.example.com.', [1234, 47, 1, 46, 15, 128])), [1, 15, 46, 47, 128, 1234])
})

test('canonical order sorts RDATA as octet strings and drops duplicates', () => {
  const a = Buffer.from([1, 2]), b = Buffer.from([1]), c = Buffer.from([0, 9])
  assert.equal(canonicalOrder([a, b, c, Buffer.from(a)]), [c, b, a])
})

test('DS presentation text parses and refuses a short SHA-256 digest', () => {
  assert.ok(parseDsText('3613 15 2 3aa5ab37efce57f737fc1627013fee07bdf241bd10f3b1964ab55c78e79a304b'))
  assert.is(parseDsText('3613 15 2 3aa5'), null)
  assert.is(parseDsText('nonsense'), null)
})

for (const alg of [13, 15] as const) {
  test(`algorithm ${alg}: node:crypto verifies the RRSIG over an A RRset in dns-packet's canonical form (mixed case, unsorted)`, () => {
    const key = SigningKey.generate('Example.TEST', alg)
    const signer = new ZoneSigner([key])
    const [rrsig] = signer.sign('www.example.test.', RRType.A, 300, ['192.0.2.9', '192.0.2.1', '10.0.0.1'])
    const rd = rrsig!.data as Buffer
    const decoded = dnsPacket.rrsig.decode(Buffer.concat([Buffer.from([rd.length >> 8, rd.length & 0xff]), rd])) as never as {
      typeCovered: string; algorithm: number; labels: number; originalTTL: number; expiration: number; inception: number; keyTag: number; signersName: string; signature: Buffer}
    assert.is(decoded.labels, 3)
    assert.is(decoded.keyTag, key.keyTag)
    assert.is(decoded.signersName.toLowerCase(), 'example.test')
    assert.is(decoded.signature.length, 64) // r || s for 13 (RFC 6605 §4), the EdDSA signature for 15
    const data = oracleSignedData(decoded, ['10.0.0.1', '192.0.2.9', '192.0.2.1'].map((a) => ({name: 'WWW.example.test', type: 'A', data: a})))
    const pub = createPublicKey(key.privateKey)
    const ok = alg === 13
      ? verify('sha256', data, {key: pub, dsaEncoding: 'ieee-p1363'}, decoded.signature)
      : verify(null, data, pub, decoded.signature)
    assert.ok(ok, 'signature verifies over the independently built form')
    // And it is bound to the data: another address fails.
    const other = oracleSignedData(decoded, ['10.0.0.2', '192.0.2.9', '192.0.2.1'].map((a) => ({name: 'www.example.test', type: 'A', data: a})))
    assert.not.ok(alg === 13 ? verify('sha256', other, {key: pub, dsaEncoding: 'ieee-p1363'}, decoded.signature) : verify(null, other, pub, decoded.signature))
  })
}

test('the signature cache: the same RRset in the same window is signed once; a new window signs again', () => {
  let now = 1_800_000_000
  const signer = new ZoneSigner([SigningKey.generate('example.test.', 13)], {now: () => now})
  const a = signer.sign('www.example.test.', RRType.A, 300, ['192.0.2.1'])
  const b = signer.sign('www.example.test.', RRType.A, 300, ['192.0.2.1'])
  assert.is(signer.signatures, 1)
  assert.ok((a[0]!.data as Buffer).equals(b[0]!.data as Buffer))
  signer.sign('www.example.test.', RRType.A, 300, ['192.0.2.2'])
  assert.is(signer.signatures, 2)
  now += 86_400
  signer.sign('www.example.test.', RRType.A, 300, ['192.0.2.1'])
  assert.is(signer.signatures, 3)
})

test('compact denial: NSEC owner is the name, next is \\000.name, bitmap has the types plus RRSIG and NSEC', () => {
  const signer = new ZoneSigner([SigningKey.generate('example.test.', 15)])
  const [nsec, sig] = signer.denial('nope.example.test.', [128], 60)
  const d = dnsPacket.nsec.decode(Buffer.concat([Buffer.from([0, (nsec!.data as Buffer).length]), nsec!.data as Buffer])) as {nextDomain: string; rrtypes: string[]}
  // dns-packet reads the \000 label as a NUL character.
  assert.is(d.nextDomain, '\u0000.nope.example.test')
  assert.equal(d.rrtypes.sort(), ['NSEC', 'RRSIG', 'UNKNOWN_128'].sort())
  assert.is(sig!.type, RRType.RRSIG)
})

test('the NSEC successor of a name too long for \\000.name stays a valid name above it in canonical order', () => {
  assert.is(successor('a.example.test.'), '\\000.a.example.test.')
  assert.is(successor('.'), '\\000.')
  // Labels of 62, 63, 63 and 64 octets with their length octets, + 1 = 254 octets of wire: \000. would make 256.
  const long = ['a'.repeat(61) + 'x', 'b'.repeat(62), 'c'.repeat(62), 'd'.repeat(63)].join('.') + '.'
  assert.is(successor(long), ['a'.repeat(61) + 'y', 'b'.repeat(62), 'c'.repeat(62), 'd'.repeat(63)].join('.') + '.')
  const signer = new ZoneSigner([SigningKey.generate('example.test.', 13)])
  assert.is(signer.denial(long, [128], 60).length, 2, 'a denial for the longest names is made, not thrown')
})

test.run()
