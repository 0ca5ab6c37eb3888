// DNS-A signing its zone online: DO=0 answers unchanged, DO=1 answers validated by BIND's delv (an independent
// validator) and by node:crypto over a canonical form built with dns-packet; repeated queries sign nothing new;
// key problems are state errors naming a.json's field and the key file's.
// glb-test-timeout: 120
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {createPublicKey, verify} from 'node:crypto'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import dnsPacket from 'dns-packet'
import {RRType} from '../../../src/dns/wire/constants.js'
import {buildQuery, exchange} from '../../../src/dns/client.js'
import {SigningKey} from '../../../src/dnssec/signing-key.js'
import {ZoneSigner} from '../../../src/dnssec/zone-signer.js'
import {writeKeyFile} from '../../../src/dnssec/key-file.js'
import {dsText} from '../../../src/dnssec/rdata.js'
import {authorityStateSchema, authorityStateSchemaFor, buildZones, zoneSigners} from '../../../src/roles/authority/authority-state.js'
import {AuthorityHandler} from '../../../src/roles/authority/authority-handler.js'
import {validateState} from '../../../src/state/validate-state.js'
import {runLocalServer, type LocalServer} from '../../helpers/servers.js'
import {runTool} from '../../helpers/run-tool.js'
import {requires} from '../../helpers/env.js'
import {oracleSignedData} from '../../helpers/dnssec-oracle.js'

const ADDR = '127.3.17.10'

/** The test zone: answers, a CNAME, a wildcard, an insecure delegation (glb) and a secure one (sec, with DS). */
function zoneState(keyFile: string, childDs: string) {
  return {zones: [{origin: 'example.test.', ttl: 300, soa: {mname: 'ns1.example.test.', rname: 'h.example.test.', serial: 1, minimum: 60},
    dnssec: {keyFiles: [keyFile]},
    records: [
      {name: '@', type: 'NS', data: 'ns1.example.test.'}, {name: 'ns1', type: 'A', data: ADDR},
      {name: 'www', type: 'A', data: '192.0.2.2'}, {name: 'www', type: 'A', data: '192.0.2.1'},
      {name: 'mail', type: 'MX', data: {preference: 10, exchange: 'MX1.example.test.'}}, {name: 'mx1', type: 'A', data: '192.0.2.25'},
      {name: 'alias', type: 'CNAME', data: 'www.example.test.'},
      {name: '*.wild', type: 'TXT', data: 'wild'},
      {name: 'glb', type: 'NS', data: 'b1.glb.example.test.'}, {name: 'b1.glb', type: 'A', data: '127.3.17.20'},
      {name: 'sec', type: 'NS', data: 'ns.sec.example.test.'}, {name: 'ns.sec', type: 'A', data: '127.3.17.30'},
      {name: 'sec', type: 'DS', data: childDs},
    ]}]}
}

interface Fixture {dir: string; key: SigningKey; keyFile: string; server: LocalServer; handler: AuthorityHandler; unsigned: LocalServer}

async function start(algorithm: 13 | 15, port = 0): Promise<Fixture> {
  const dir = mkdtempSync(join(tmpdir(), 'glb-dnssec-a-'))
  const key = SigningKey.generate('example.test', algorithm)
  const keyFile = join(dir, 'example.test.key')
  await writeKeyFile(keyFile, key)
  const child = SigningKey.generate('sec.example.test', 13)
  const state = authorityStateSchemaFor(join(dir, 'a.json')).parse(zoneState('example.test.key', dsText(child.ds())))
  const handler = new AuthorityHandler(buildZones(state), zoneSigners(state))
  const server = await runLocalServer(handler, {address: ADDR, port})
  // The same zone without signers, for the DO=0 comparison.
  const plain = authorityStateSchema.parse(zoneState('example.test.key', dsText(child.ds())))
  const unsigned = await runLocalServer(new AuthorityHandler(buildZones(plain)), {address: '127.3.17.11', port: 0})
  return {dir, key, keyFile, server, handler, unsigned}
}

async function stop(f: Fixture | undefined) {
  await f?.server.close()
  await f?.unsigned.close()
  if (f) rmSync(f.dir, {recursive: true, force: true})
}

async function ask(f: Fixture, name: string, type: number, doBit: boolean, server = f.server) {
  const r = await exchange(server.address, buildQuery(name, type, {id: 7, edns: {do: doBit}}), {port: server.port})
  return {bytes: r.response, packet: dnsPacket.decode(r.response)}
}

test('DO=0 answers are byte for byte those of the unsigned zone (no RRSIG, NSEC or DNSKEY added), NXDOMAIN stays NXDOMAIN', async () => {
  let f: Fixture | undefined
  try {
    f = await start(13)
    for (const [name, type] of [['www.example.test', RRType.A], ['nope.example.test', RRType.A], ['www.example.test', RRType.MX], ['x.glb.example.test', RRType.A], ['mail.example.test', RRType.MX], ['a.wild.example.test', RRType.TXT]] as const) {
      const signed = await ask(f, name, type, false)
      const plain = await ask(f, name, type, false, f.unsigned)
      assert.ok(signed.bytes.equals(plain.bytes), `${name} ${type}: DO=0 answer differs from the unsigned zone's`)
    }
    assert.is((await ask(f, 'nope.example.test', RRType.A, false)).packet.flags! & 0xf, 3, 'NXDOMAIN')
  } finally {
    await stop(f)
  }
})

for (const algorithm of [13, 15] as const) {
  requires(['delv'], test).test(`algorithm ${algorithm}: delv (BIND's validator) fully validates answers, denials, wildcards, CNAMEs and the DS proofs at both cuts`, async () => {
    let f: Fixture | undefined
    try {
      f = await start(algorithm)
      const anchor = join(f.dir, 'anchor.conf')
      writeFileSync(anchor, `trust-anchors { example.test. static-key 257 3 ${algorithm} "${f.key.dnskey.subarray(4).toString('base64')}"; };\n`)
      const delv = async (name: string, type: string) => (await runTool('delv', [`@${f!.server.address}`, '-p', String(f!.server.port), '-a', anchor, '+root=example.test', name, type], {timeoutMs: 15_000})).stdout + ''
      const cases: [string, string, RegExp][] = [
        ['www.example.test', 'A', /^; fully validated\nwww\.example\.test\.\s+300\s+IN\s+A\s+192\.0\.2\.1\n/],
        ['example.test', 'DNSKEY', new RegExp(`^; fully validated\\nexample\\.test\\.\\s+300\\s+IN\\s+DNSKEY\\s+257 3 ${algorithm} `)],
        ['mail.example.test', 'MX', /^; fully validated\nmail\.example\.test\.\s+300\s+IN\s+MX\s+10 MX1\.example\.test\./i],
        ['alias.example.test', 'A', /^; fully validated\nalias\.example\.test\.\s+300\s+IN\s+CNAME\s+www\.example\.test\./],
        ['x.y.wild.example.test', 'TXT', /^; fully validated\nx\.y\.wild\.example\.test\.\s+300\s+IN\s+TXT\s+"wild"/],
        ['nope.example.test', 'A', /; negative response, fully validated\n(.|\n)*NSEC\s+\\000\.nope\.example\.test\. RRSIG NSEC TYPE128/],
        ['www.example.test', 'TXT', /; negative response, fully validated\n(.|\n)*NSEC\s+\\000\.www\.example\.test\. A RRSIG NSEC/],
        ['glb.example.test', 'DS', /; negative response, fully validated\n(.|\n)*glb\.example\.test\. NSEC \\000\.glb\.example\.test\. NS RRSIG NSEC/],
        ['sec.example.test', 'DS', /^; fully validated\nsec\.example\.test\.\s+300\s+IN\s+DS\s+\d+ 13 2 /],
      ]
      for (const [name, type, re] of cases) assert.match(await delv(name, type), re, `${name} ${type}`)
    } finally {
      await stop(f)
    }
  })
}

test('DO=1 referrals: the insecure cut carries its signed NSEC (NS, no DS), the secure cut its signed DS; glue unsigned', async () => {
  let f: Fixture | undefined
  try {
    f = await start(13)
    const glb = (await ask(f, 'www.glb.example.test', RRType.A, true)).packet
    assert.is(glb.flags! & 0x400, 0, 'a referral is not authoritative')
    assert.equal(glb.authorities!.map((r) => `${r.name} ${r.type}`), ['glb.example.test NS', 'glb.example.test NSEC', 'glb.example.test RRSIG'])
    const nsec = glb.authorities![1] as unknown as {data: {rrtypes: string[]}}
    assert.equal(nsec.data.rrtypes.sort(), ['NS', 'NSEC', 'RRSIG'])
    assert.equal(glb.additionals!.filter((r) => r.type !== 'OPT').map((r) => `${r.name} ${r.type}`), ['b1.glb.example.test A'])
    const sec = (await ask(f, 'a.sec.example.test', RRType.A, true)).packet
    assert.equal(sec.authorities!.map((r) => `${r.name} ${r.type}`), ['sec.example.test NS', 'sec.example.test DS', 'sec.example.test RRSIG'])
  } finally {
    await stop(f)
  }
})

test('node:crypto verifies the RRSIG of a DO=1 answer over a canonical form built with dns-packet from the received records', async () => {
  let f: Fixture | undefined
  try {
    f = await start(13)
    const p = (await ask(f, 'WWW.Example.TEST', RRType.A, true)).packet
    const records = p.answers!.filter((r) => r.type === 'A') as {name: string; type: string; data: string}[]
    const sig = p.answers!.find((r) => r.type === 'RRSIG') as unknown as {data: Parameters<typeof oracleSignedData>[0] & {signature: Buffer}}
    assert.is(records.length, 2)
    const data = oracleSignedData(sig.data, records)
    assert.ok(verify('sha256', data, {key: createPublicKey(f.key.privateKey), dsaEncoding: 'ieee-p1363'}, sig.data.signature))
  } finally {
    await stop(f)
  }
})

test('a repeated DO=1 query is a copy: no new signature after the first answer, for names the zone holds and for a referral', async () => {
  let f: Fixture | undefined
  try {
    f = await start(15)
    const signer = (f.handler as unknown as {signers: Map<string, {signatures: number}>}).signers.get('example.test.')!
    for (const [name, type] of [['www.example.test', RRType.A], ['www.example.test', RRType.TXT], ['x.glb.example.test', RRType.A]] as const) {
      await ask(f, name, type, true)
      const after = signer.signatures
      for (let i = 0; i < 20; i++) await ask(f, name, type, true)
      assert.is(signer.signatures, after, `${name} ${type}: signed again`)
    }
    // An invented name's denial is signed once and then served from the signature cache.
    await ask(f, 'made-up.example.test', RRType.A, true)
    const once = signer.signatures
    await ask(f, 'made-up.example.test', RRType.A, true)
    assert.is(signer.signatures, once)
  } finally {
    await stop(f)
  }
})

test('prepared signed answers last one signature window: the next window re-signs them with new times', async () => {
  let now = 1_900_000_000
  const key = SigningKey.generate('example.test', 13)
  const plain = authorityStateSchema.parse(zoneState('unused.key', '1 13 2 ' + '00'.repeat(32)))
  delete (plain.zones[0] as {dnssec?: unknown}).dnssec
  const handler = new AuthorityHandler(buildZones(plain), new Map([['example.test.', new ZoneSigner([key], {now: () => now})]]))
  const server = await runLocalServer(handler, {address: ADDR, port: 0})
  try {
    const times = async () => {
      const r = await exchange(server.address, buildQuery('www.example.test', RRType.A, {edns: {do: true}}), {port: server.port})
      const sig = dnsPacket.decode(r.response).answers!.find((a) => a.type === 'RRSIG') as unknown as {data: {inception: number; expiration: number}}
      return [sig.data.inception, sig.data.expiration]
    }
    const day = Math.floor(now / 86_400) * 86_400
    assert.equal(await times(), [day - 3600, day + 8 * 86_400])
    now += 3600
    assert.equal(await times(), [day - 3600, day + 8 * 86_400], 'same window: the prepared answer')
    now += 86_400
    assert.equal(await times(), [day + 86_400 - 3600, day + 9 * 86_400], 'next window: signed again')
  } finally {
    await server.close()
  }
})

test('one server with the parent and the child: DS for the child\'s apex comes from the parent, signed by the parent', async () => {
  const rootKey = SigningKey.generate('.', 13)
  const zoneKey = SigningKey.generate('example.test', 15)
  const state = authorityStateSchema.parse({zones: [
    {origin: '.', ttl: 3600, soa: {mname: 'a.root-servers.test.', rname: 'h.test.', serial: 1}, records: [
      {name: '@', type: 'NS', data: 'a.root-servers.test.'}, {name: 'a.root-servers.test.', type: 'A', data: ADDR},
      {name: 'example.test.', type: 'NS', data: 'ns1.example.test.'}, {name: 'example.test.', type: 'DS', data: dsText(zoneKey.ds())}]},
    {origin: 'example.test.', ttl: 300, soa: {mname: 'ns1.example.test.', rname: 'h.test.', serial: 1}, records: [
      {name: '@', type: 'NS', data: 'ns1.example.test.'}, {name: 'ns1', type: 'A', data: ADDR}]},
  ]})
  const signers = new Map([['.', new ZoneSigner([rootKey])], ['example.test.', new ZoneSigner([zoneKey])]])
  const server = await runLocalServer(new AuthorityHandler(buildZones(state), signers), {address: ADDR, port: 0})
  try {
    for (const doBit of [false, true]) {
      const r = dnsPacket.decode((await exchange(server.address, buildQuery('example.test', RRType.DS, {edns: {do: doBit}}), {port: server.port})).response)
      assert.equal(r.answers!.map((a) => a.type), doBit ? ['DS', 'RRSIG'] : ['DS'], `DO=${doBit}`)
      if (doBit) assert.is((r.answers![1] as unknown as {data: {signersName: string}}).data.signersName, '.')
    }
  } finally {
    await server.close()
  }
})

test('a.json key problems are state errors naming the field and the key file: missing, expired, another zone\'s, bad algorithm', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'glb-dnssec-state-'))
  try {
    const ok = join(dir, 'ok.key')
    await writeKeyFile(ok, SigningKey.generate('example.test', 13))
    const other = join(dir, 'other.key')
    await writeKeyFile(other, SigningKey.generate('other.test', 13))
    const expired = join(dir, 'expired.key')
    await writeKeyFile(expired, SigningKey.generate('example.test', 15, 1_600_000_000))
    const badAlg = join(dir, 'alg8.key')
    const content = JSON.parse((await import('node:fs')).readFileSync(ok, 'utf8'))
    writeFileSync(badAlg, JSON.stringify({...content, algorithm: 8}))
    const file = join(dir, 'a.json')
    const check = (keyFile: string) => {
      try { validateState(file, zoneState(keyFile, '1 13 2 ' + '00'.repeat(32)), authorityStateSchemaFor(file)); return 'accepted' } catch (err) { return (err as Error).message }
    }
    assert.is(check('ok.key'), 'accepted')
    assert.match(check('absent.key'), /a\.json: zones\[0\]\.dnssec\.keyFiles\[0\]: expected a usable key file \(.*absent\.key: cannot read: no such file\)/)
    assert.match(check('expired.key'), /zones\[0\]\.dnssec\.keyFiles\[0\]: expected a usable key file \(.*expired\.key: expires: the key expired at 2020-09-13T12:26:40Z/)
    assert.match(check('other.key'), /zones\[0\]\.dnssec\.keyFiles\[0\]: expected a key of zone example\.test\. \(other\.key is a key of other\.test\.\)/)
    assert.match(check('alg8.key'), /alg8\.key: algorithm: expected a DNSSEC algorithm glb signs with: 13 \(ECDSAP256SHA256\) or 15 \(ED25519\), got 8/)
    // A DS record that is not DS data names its field.
    const bad = zoneState('ok.key', 'not a ds')
    assert.throws(() => validateState(file, bad, authorityStateSchema), /zones\[0\]\.records\[12\]\.data: expected DS data "KEYTAG ALGORITHM DIGESTTYPE HEX"/)
  } finally {
    rmSync(dir, {recursive: true, force: true})
  }
})

test.run()
