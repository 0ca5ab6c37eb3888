// DNS-B announces itself to DNS-A at start (signed UPDATE of the delegation), and takes a reloaded b.json.
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {buildQuery, exchange} from '../../../src/dns/client.js'
import {Opcode, RRType} from '../../../src/dns/wire/constants.js'
import {register} from '../../../src/registration/index.js'
import {AuthorityHandler} from '../../../src/roles/authority/authority-handler.js'
import {authorityStateSchema, buildZones} from '../../../src/roles/authority/authority-state.js'
import {referralStateSchema} from '../../../src/roles/referral/referral-state.js'
import {UpdatableAuthority} from '../../../src/roles/update/updatable-authority.js'
import {runLocalServer} from '../../helpers/servers.js'
import {bState, KEY, nsNames, runDnsB, SECRET, ZONE} from './dns-b-lab.js'

test('with "announce", DNS-B adds its NS and glue at DNS-A, which then refers to it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'glb-announce-'))
  const file = join(dir, 'a.json')
  const a = JSON.parse(readFileSync(new URL('../../../fixtures/a.json', import.meta.url), 'utf8'))
  a.keys = [{name: 'glb-lab.', secret: SECRET}]
  a.updatePolicy = [{key: 'glb-lab.', zone: 'example.test.', names: ['glb', '*.glb']}]
  writeFileSync(file, JSON.stringify(a))
  const state = authorityStateSchema.parse(a)
  const handler = new UpdatableAuthority({stateFile: file, state, authority: new AuthorityHandler(buildZones(state))})
  const dnsA = await runLocalServer(handler, {address: '127.0.0.10', opcodes: [Opcode.QUERY, Opcode.UPDATE]})
  const lines: string[] = []
  const b = await runDnsB(bState({announce: {server: `127.0.0.10:${dnsA.port}`, zone: 'example.test.', key: 'glb-lab.', name: 'b3.glb.example.test.', addrs: ['127.0.0.23']}}),
    {address: '127.0.0.23', offline: false, log: (l) => lines.push(l)})
  try {
    const deadline = Date.now() + 5000
    let ns: string[] = []
    while (Date.now() < deadline) {
      const r = await exchange(dnsA.address, buildQuery('www.glb.example.test.', RRType.A), {port: dnsA.port, timeoutMs: 2000})
      ns = r.message.authorities.map((x) => String(x.data))
      if (ns.includes('b3.glb.example.test.') && lines.some((l) => l.startsWith('announced'))) break
      await new Promise((res) => setTimeout(res, 50))
    }
    assert.ok(ns.includes('b3.glb.example.test.'), `DNS-A refers to b3: ${ns}; log: ${lines.join(' | ')}`)
    assert.ok(lines.some((l) => /announced b3\.glb\.example\.test\. .*accepted/.test(l)), lines.join(' | '))
    assert.ok(JSON.parse(readFileSync(file, 'utf8')).zones[0].records.some((r: {data: unknown}) => r.data === '127.0.0.23'), 'persisted at DNS-A')
  } finally {
    await b.close()
    await dnsA.close()
    rmSync(dir, {recursive: true, force: true})
  }
})

test('a reload takes a new referral TTL and backup without dropping registrations', async () => {
  const b = await runDnsB(bState())
  try {
    const target = [{address: b.address, port: b.port}]
    await register({bs: target, zone: ZONE, key: KEY, lb: {label: 'lb1', addrs: ['127.0.1.1']}, isp: '127.0.1.53', ttl: 300})
    const ask = () => exchange(b.address, buildQuery('www.glb.example.test.', RRType.A), {port: b.port, source: '127.0.1.53', timeoutMs: 2000})
    assert.equal(nsNames(await ask()), ['lb1.www.glb.example.test.'])
    b.role.reload(referralStateSchema.parse(bState({referralTtl: 7, backup: 'lb9', lbs: [{label: 'lb9', addrs: ['127.0.9.1']}]})))
    const r = await ask()
    assert.equal(nsNames(r), ['lb1.www.glb.example.test.', 'lb9.www.glb.example.test.'])
    assert.ok(r.message.authorities.every((x) => x.ttl === 7))
  } finally {
    await b.close()
  }
})

test.run()
