// DNS-A's handler on a loopback server: AA answers, referral with glue, REFUSED outside its zones, prepared
// answers that are bounded and dropped on reload, the asker's case kept.
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {readFileSync} from 'node:fs'
import {Flag} from '../../../src/dns/wire/constants.js'
import {authorityStateSchema, buildZones} from '../../../src/roles/authority/authority-state.js'
import {runAuthorityServer} from '../../helpers/servers.js'

const ADDR = '127.3.1.1'
const state = () => JSON.parse(readFileSync(new URL('../../../fixtures/a.json', import.meta.url), 'utf8'))
const aa = (flags: number) => Boolean(flags & Flag.AA)

test('answers are authoritative; the referral is not and carries NS and glue', async () => {
  const s = await runAuthorityServer(state(), {address: ADDR})
  try {
    const mail = await s.ask('mail.example.test', 'A')
    assert.ok(aa(mail.message.header.flags))
    assert.is(mail.message.answers[0]!.data, '127.0.10.25')
    for (const type of ['NS', 'A']) {
      const ref = await s.ask('glb.example.test', type)
      assert.not.ok(aa(ref.message.header.flags), `referral for ${type} has AA=0`)
      assert.is(ref.message.answers.length, 0)
      assert.equal(ref.message.authorities.map((r) => r.data), ['b1.glb.example.test.', 'b2.glb.example.test.'])
      assert.equal(ref.message.additionals.map((r) => `${r.name} ${r.data}`), ['b1.glb.example.test. 127.0.0.20', 'b2.glb.example.test. 127.0.0.21'])
    }
    const nx = await s.ask('nope.example.test', 'A')
    assert.is(nx.message.rcode, 3)
    assert.ok(aa(nx.message.header.flags))
    assert.is(nx.message.authorities[0]!.ttl, 60)
  } finally {
    await s.close()
  }
})

test('REFUSED outside the zones, for other classes and for zone transfers', async () => {
  const s = await runAuthorityServer(state(), {address: ADDR})
  try {
    assert.is((await s.ask('www.other.test', 'A')).message.rcode, 5)
    assert.is((await s.ask('example.test', 'SOA', {klass: 3})).message.rcode, 5) // CH
    assert.is((await s.ask('example.test', 'AXFR', {transport: 'tcp'})).message.rcode, 5)
    const anyClass = await s.ask('mail.example.test', 'A', {klass: 255})
    assert.is(anyClass.message.rcode, 0)
    assert.is(anyClass.message.questions[0]!.class, 255, 'the question comes back as asked')
  } finally {
    await s.close()
  }
})

test('the question comes back byte for byte (0x20), on the prepared path and the per-query path', async () => {
  const s = await runAuthorityServer(state(), {address: ADDR})
  try {
    for (const name of ['MaIl.ExAmPlE.tEsT', 'mAIL.eXAMPLE.TEST', 'NoPe.ExAmPlE.TeSt', 'WwW.gLb.ExAmPlE.tEsT']) {
      for (let i = 0; i < 2; i++) { // the second time comes from the prepared answer where there is one
        const r = await s.ask(name, 'A')
        const q = r.response.subarray(12, 12 + name.length + 2)
        assert.is(q.toString('latin1').replace(/[\x00-\x1f]/g, '.'), '.' + name + '.', name)
      }
    }
  } finally {
    await s.close()
  }
})

test('prepared answers: reused for names the zone holds, never made for names a client invents', async () => {
  const s = await runAuthorityServer(state(), {address: ADDR})
  const count = () => (s.handler as unknown as {preparedCount: number}).preparedCount
  try {
    await s.ask('mail.example.test', 'A')
    await s.ask('mail.example.test', 'A')
    await s.ask('glb.example.test', 'NS')
    assert.is(count(), 2)
    for (let i = 0; i < 200; i++) {
      await s.ask(`r${i}.example.test`, 'A') // NXDOMAIN
      await s.ask(`r${i}.www.glb.example.test`, 'A') // referral for an invented name
      await s.ask('mail.example.test', 1000 + i) // rare types on a real name
    }
    assert.is(count(), 2)
    // Invented names share one NXDOMAIN per zone and one referral per cut, each valid for the name asked.
    const inner = s.handler as unknown as {nxdomain: Map<string, unknown>; referrals: Map<string, unknown>}
    assert.is(inner.nxdomain.size, 1)
    assert.is(inner.referrals.size, 1)
    const ref = await s.ask('Some.Long.Invented.Name.Www.Glb.Example.Test', 'AAAA')
    assert.equal(ref.message.authorities.map((r) => `${r.name} ${r.data}`), ['glb.example.test. b1.glb.example.test.', 'glb.example.test. b2.glb.example.test.'])
    assert.equal(ref.message.additionals.map((r) => `${r.name} ${r.data}`), ['b1.glb.example.test. 127.0.0.20', 'b2.glb.example.test. 127.0.0.21'])
    const nx = await s.ask('x', 'A', {edns: false}).catch(() => null) // outside: REFUSED, not the shared NXDOMAIN
    assert.is(nx?.message.rcode, 5)
    const nx2 = await s.ask('a.b.c.nowhere.example.test', 'TXT')
    assert.is(nx2.message.rcode, 3)
    assert.is(nx2.message.authorities[0]!.name, 'example.test.')
  } finally {
    await s.close()
  }
})

test('setZones (a reload) replaces the answers, prepared ones included', async () => {
  const s = await runAuthorityServer(state(), {address: ADDR})
  try {
    assert.is((await s.ask('mail.example.test', 'A')).message.answers[0]!.data, '127.0.10.25')
    const next = state()
    next.zones[0].records.find((r: {name: string; type: string}) => r.name === 'mail' && r.type === 'A').data = '127.0.10.26'
    s.handler.setZones(buildZones(authorityStateSchema.parse(next)))
    assert.is((await s.ask('mail.example.test', 'A')).message.answers[0]!.data, '127.0.10.26')
  } finally {
    await s.close()
  }
})

test.run()
