// A signed chain served by glb's DNS-A, validated by real resolvers from the lab root's trust anchor: a signed
// lab root (.) with the DS of example.test, a signed example.test with an insecure delegation to an unsigned
// glb.example.test. unbound and BIND must return AD=1 for signed names (and for a denial), an insecure NOERROR
// below the unsigned cut, and SERVFAIL once example.test signs with a key the root's DS does not name.
// Real resolvers ask referrals on port 53, so every server is on 53 at its own 127.0.150.x address: run it
// under the lab lock (flock /tmp/glb-lab.lock node --import tsx test/roles/authority/dnssec-real-resolvers.test.ts).
// glb-test-timeout: 240
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {SigningKey} from '../../../src/dnssec/signing-key.js'
import {writeKeyFile} from '../../../src/dnssec/key-file.js'
import {dsText} from '../../../src/dnssec/rdata.js'
import {ZoneSigner} from '../../../src/dnssec/zone-signer.js'
import {authorityStateSchemaFor, buildZones, zoneSigners} from '../../../src/roles/authority/authority-state.js'
import {AuthorityHandler} from '../../../src/roles/authority/authority-handler.js'
import {startRealResolver, type RealResolver, type RealResolverKind} from '../../../src/lab/real-resolvers.js'
import {runLocalServer, freePort, type LocalServer} from '../../helpers/servers.js'
import {runTool} from '../../helpers/run-tool.js'
import {requires} from '../../helpers/env.js'

const ROOT = '127.0.150.9'
const DNS_A = '127.0.150.10'
const GLB = '127.0.150.20'
const ISP = '127.0.150.53'
const EGRESS = '127.0.150.54'

interface Chain {dir: string; rootKey: SigningKey; zoneKey: SigningKey; servers: LocalServer[]; zone: AuthorityHandler}

const soa = (mname: string) => ({mname, rname: 'hostmaster.example.test.', serial: 1, minimum: 60})

async function startChain(): Promise<Chain> {
  const dir = mkdtempSync(join(tmpdir(), 'glb-dnssec-chain-'))
  const servers: LocalServer[] = []
  try {
    const rootKey = SigningKey.generate('.', 13)
    const zoneKey = SigningKey.generate('example.test', 15) // both algorithms in one chain
    await writeKeyFile(join(dir, 'root.key'), rootKey)
    await writeKeyFile(join(dir, 'example.test.key'), zoneKey)
    const root = authorityStateSchemaFor(join(dir, 'root.json')).parse({zones: [{origin: '.', ttl: 3600, soa: soa('a.root-servers.test.'),
      dnssec: {keyFiles: ['root.key']},
      records: [
        {name: '@', type: 'NS', data: 'a.root-servers.test.'}, {name: 'a.root-servers.test.', type: 'A', data: ROOT},
        {name: 'example.test.', type: 'NS', data: 'ns1.example.test.'}, {name: 'ns1.example.test.', type: 'A', data: DNS_A},
        {name: 'example.test.', type: 'DS', data: dsText(zoneKey.ds())},
      ]}]})
    const zone = authorityStateSchemaFor(join(dir, 'a.json')).parse({zones: [{origin: 'example.test.', ttl: 300, soa: soa('ns1.example.test.'),
      dnssec: {keyFiles: ['example.test.key']},
      records: [
        {name: '@', type: 'NS', data: 'ns1.example.test.'}, {name: 'ns1', type: 'A', data: DNS_A},
        {name: 'www', type: 'A', data: '192.0.2.1'},
        {name: 'glb', type: 'NS', data: 'b1.glb.example.test.'}, {name: 'b1.glb', type: 'A', data: GLB},
      ]}]})
    const glb = authorityStateSchemaFor(join(dir, 'b.json')).parse({zones: [{origin: 'glb.example.test.', ttl: 20, soa: soa('b1.glb.example.test.'),
      records: [{name: '@', type: 'NS', data: 'b1.glb.example.test.'}, {name: 'b1', type: 'A', data: GLB}, {name: 'www', type: 'A', data: '127.0.10.1'}]}]})
    servers.push(await runLocalServer(new AuthorityHandler(buildZones(root), zoneSigners(root)), {address: ROOT, port: 53}))
    const zoneHandler = new AuthorityHandler(buildZones(zone), zoneSigners(zone))
    servers.push(await runLocalServer(zoneHandler, {address: DNS_A, port: 53}))
    servers.push(await runLocalServer(new AuthorityHandler(buildZones(glb), zoneSigners(glb)), {address: GLB, port: 53}))
    return {dir, rootKey, zoneKey, servers, zone: zoneHandler}
  } catch (err) {
    for (const s of servers) await s.close()
    rmSync(dir, {recursive: true, force: true})
    throw err
  }
}

/** dig through the resolver with DO=1: status, flags and the answer's data lines. */
async function dig(r: RealResolver, name: string, type: string) {
  const out = (await runTool('dig', [`@${r.listen}`, '-p', String(r.port), '+dnssec', '+time=5', '+tries=1', name, type], {timeoutMs: 20_000})).stdout + ''
  const status = /status: (\w+)/.exec(out)?.[1] ?? 'no answer'
  const flags = /;; flags: ([a-z ]+);/.exec(out)?.[1]?.split(' ') ?? []
  const answer = out.split(';; ANSWER SECTION:\n')[1]?.split('\n\n')[0]?.split('\n').filter((l) => !/\sRRSIG\s/.test(l)).map((l) => l.split(/\s+/).slice(3).join(' ')) ?? []
  return {status, ad: flags.includes('ad'), answer, out}
}

for (const kind of ['unbound', 'bind'] as RealResolverKind[]) {
  requires(['root', kind === 'bind' ? 'named' : 'unbound', 'dig'], test).test(`${kind} validates glb's signed chain from the lab root's DS: AD=1 signed, insecure below the unsigned cut, SERVFAIL with a key the DS does not name`, async () => {
    let chain: Chain | undefined
    let r: RealResolver | undefined
    try {
      chain = await startChain()
      r = await startRealResolver(kind, {listen: ISP, egress: EGRESS, port: await freePort(ISP), zone: 'example.test', root: ROOT, trustAnchor: chain.rootKey.dsRecordText()})
      const logs = () => r!.logs().slice(-3000)

      const www = await dig(r, 'www.example.test', 'A')
      assert.equal([www.status, www.ad, www.answer], ['NOERROR', true, ['A 192.0.2.1']], `${www.out}\n${logs()}`)
      // Compact denial: NOERROR (not NXDOMAIN) for a name that does not exist, proved and so AD=1.
      const nope = await dig(r, 'nope.example.test', 'A')
      assert.equal([nope.status, nope.ad, nope.answer], ['NOERROR', true, []], `${nope.out}\n${logs()}`)
      // Below the insecure delegation (signed NSEC at glb.example.test: NS, no DS): answered, not authenticated.
      const glb = await dig(r, 'www.glb.example.test', 'A')
      assert.equal([glb.status, glb.ad, glb.answer], ['NOERROR', false, ['A 127.0.10.1']], `${glb.out}\n${logs()}`)

      if (kind === 'unbound' && requires(['delv'], test).met) {
        // delv validates itself (CD=1 through unbound) from the same anchor: a third, independent validator.
        const anchor = join(chain.dir, 'anchor.conf')
        const ds = chain.rootKey.ds()
        writeFileSync(anchor, `trust-anchors { . static-ds ${ds.readUInt16BE(0)} ${ds[2]} ${ds[3]} "${ds.subarray(4).toString('hex')}"; };\n`)
        const d = await runTool('delv', [`@${ISP}`, '-p', String(r.port), '-a', anchor, 'www.example.test', 'A'], {timeoutMs: 20_000})
        assert.match(d.stdout + '', /^; fully validated\nwww\.example\.test\.\s+300\s+IN\s+A\s+192\.0\.2\.1/, `${d.stdout}${d.stderr}`)
      }

      // example.test now signs with a new key: its DNSKEY and RRSIGs no longer match the root's DS.
      chain.zone.setSigners(new Map([['example.test.', new ZoneSigner([SigningKey.generate('example.test', 15)])]]))
      await r.flushCache()
      const bogus = await dig(r, 'www.example.test', 'A')
      assert.equal([bogus.status, bogus.answer], ['SERVFAIL', []], `${bogus.out}\n${logs()}`)
    } finally {
      await r?.stop()
      for (const s of chain?.servers ?? []) await s.close()
      if (chain) rmSync(chain.dir, {recursive: true, force: true})
    }
  })
}

test.run()
