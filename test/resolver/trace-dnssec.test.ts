// glb trace --dnssec over a chain glb serves: a signed root with DS for a signed example.test, and an unsigned
// glb.example.test behind an insecure delegation. Each cut shows its DS (or the proof there is none), DNSKEY and
// RRSIGs; the resolution itself is the same as without --dnssec.
// glb-test-timeout: 90
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {RRType} from '../../src/dns/wire/constants.js'
import {SigningKey} from '../../src/dnssec/signing-key.js'
import {ZoneSigner} from '../../src/dnssec/zone-signer.js'
import {dsText} from '../../src/dnssec/rdata.js'
import {authorityStateSchema, buildZones} from '../../src/roles/authority/authority-state.js'
import {AuthorityHandler} from '../../src/roles/authority/authority-handler.js'
import {traceName} from '../../src/resolver/trace-report.js'
import {runLocalServer, freePort, type LocalServer} from '../helpers/servers.js'
import {runGlb} from '../helpers/cli.js'

const ROOT = '127.3.17.109'
const DNS_A = '127.3.17.110'
const GLB = '127.3.17.120'
const soa = {mname: 'ns.test.', rname: 'h.test.', serial: 1, minimum: 60}

async function startChain(port: number, rootKey: SigningKey, zoneKey: SigningKey): Promise<LocalServer[]> {
  const zone = (origin: string, records: object[]) => buildZones(authorityStateSchema.parse({zones: [{origin, ttl: 300, soa, records}]}))
  const signed = (key: SigningKey) => new Map([[key.zone, new ZoneSigner([key])]])
  const servers: LocalServer[] = []
  try {
    servers.push(await runLocalServer(new AuthorityHandler(zone('.', [
      {name: '@', type: 'NS', data: 'a.root-servers.test.'}, {name: 'a.root-servers.test.', type: 'A', data: ROOT},
      {name: 'example.test.', type: 'NS', data: 'ns1.example.test.'}, {name: 'ns1.example.test.', type: 'A', data: DNS_A},
      {name: 'example.test.', type: 'DS', data: dsText(zoneKey.ds())},
    ]), signed(rootKey)), {address: ROOT, port, nsid: 'glb dns-a'}))
    servers.push(await runLocalServer(new AuthorityHandler(zone('example.test.', [
      {name: '@', type: 'NS', data: 'ns1.example.test.'}, {name: 'ns1', type: 'A', data: DNS_A},
      {name: 'www', type: 'CNAME', data: 'www.glb.example.test.'},
      {name: 'glb', type: 'NS', data: 'b1.glb.example.test.'}, {name: 'b1.glb', type: 'A', data: GLB},
    ]), signed(zoneKey)), {address: DNS_A, port, nsid: 'glb dns-a'}))
    servers.push(await runLocalServer(new AuthorityHandler(zone('glb.example.test.', [
      {name: '@', type: 'NS', data: 'b1.glb.example.test.'}, {name: 'b1', type: 'A', data: GLB}, {name: 'www', type: 'A', data: '127.0.10.1'},
    ])), {address: GLB, port}))
    return servers
  } catch (err) {
    for (const s of servers) await s.close()
    throw err
  }
}

test('per cut: the root (trust anchor) and example.test signed with DS, glb.example.test insecure (NSEC proves no DS); same answer as without --dnssec', async () => {
  const rootKey = SigningKey.generate('.', 13)
  const zoneKey = SigningKey.generate('example.test', 15)
  const port = await freePort(ROOT)
  const servers = await startChain(port, rootKey, zoneKey)
  try {
    const o = {startServers: [ROOT], port, queryTimeoutMs: 2000}
    const plain = await traceName('www.example.test', RRType.A, o)
    const report = await traceName('www.example.test', RRType.A, {...o, dnssec: true})
    assert.is(report.resolution.status, 'answer')
    assert.equal(report.resolution.answer, plain.resolution.answer, 'RRSIGs are set aside: the answer is the same')
    assert.ok(!report.resolution.answer.some((r) => r.type === RRType.RRSIG))
    assert.equal(report.dnssec!.map((c) => [c.zone, c.ds, c.dnskeys, c.dnskeySigned, c.answersSigned]), [
      ['.', 'trust anchor', [`257 alg 13 key ${rootKey.keyTag}`], true, true],
      ['example.test.', 'present', [`257 alg 15 key ${zoneKey.keyTag}`], true, true],
      ['glb.example.test.', 'proved absent', [], false, false],
    ])
    const cnameHop = report.hops.find((h) => h.kind === 'answer' && h.zone === 'example.test.')!
    assert.ok(cnameHop.dnssec!.rrsigs.includes(`CNAME by example.test. key ${zoneKey.keyTag} alg 15`), cnameHop.dnssec!.rrsigs.join('; '))
    assert.is(plain.dnssec, undefined)

    const cli = await runGlb(['trace', 'www.example.test', '--server', ROOT, '--port', String(port), '--dnssec'])
    assert.is(cli.code, 0, cli.stderr)
    assert.match(cli.stdout, /DS: proved absent/)
    assert.match(cli.stdout, /DNSSEC per zone cut \(presence, not validated\):/)
    assert.match(cli.stdout, new RegExp(`example\\.test\\.\\s+│ present\\s+│ 257 alg 15 key ${zoneKey.keyTag}`))
  } finally {
    for (const s of servers) await s.close()
  }
})

test.run()
