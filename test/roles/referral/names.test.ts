// Many load-balanced names at one DNS-B: a DNS-LB declares the names it serves (`<label>.lbs` TXT, one string per
// name, sent with its addresses); DNS-B refers a resolver for name N only to DNS-LBs serving N, with N's glue, and
// a name no mapped DNS-LB serves follows the no-mapping policy among those that do. A declaration naming a name
// this DNS-B does not serve, or none, is REFUSED and changes nothing. A DNS-LB that declares nothing serves all.
import {rmSync} from 'node:fs'
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {buildQuery, exchange} from '../../../src/dns/client.js'
import {RRType} from '../../../src/dns/wire/constants.js'
import {listMappings, register} from '../../../src/registration/index.js'
import {bState, KEY, nsNames, runDnsB, ZONE, type DnsBLab} from './dns-b-lab.js'

const WWW = 'www.glb.example.test.'
const API = 'api.glb.example.test.'
const ISP = '127.0.61.53'
const OTHER = '127.0.61.99'

async function reg(b: DnsBLab, label: string, addr: string, isp: string, names?: string[]) {
  const [r] = await register({bs: [{address: b.address, port: b.port}], zone: ZONE, key: KEY, lb: {label, addrs: [addr], names}, isp, ttl: 300})
  return r!
}

const ask = async (b: DnsBLab, name: string, source = ISP) => {
  const r = await exchange(b.address, buildQuery(name, RRType.A), {port: b.port, source, timeoutMs: 2000})
  return {ns: nsNames(r), glue: r.message.additionals.filter((x) => x.type === RRType.A).map((x) => `${x.name} ${x.data}`)}
}

test('a resolver is referred for each name only to DNS-LBs serving it, with that name\'s glue', async () => {
  const b = await runDnsB(bState({names: ['www', 'api']}), {address: '127.0.61.20'})
  try {
    for (const [label, addr, isp, names] of [
      ['lb1', '127.0.61.1', ISP, [WWW]], ['lb2', '127.0.61.2', ISP, ['api']], ['lb3', '127.0.61.3', OTHER, [WWW, API]], ['lb4', '127.0.61.4', OTHER, [WWW]],
    ] as const) {
      const r = await reg(b, label, addr, isp, [...names])
      assert.ok(r.ok, `${label}: ${r.message}`)
    }
    const www = await ask(b, WWW)
    assert.is(www.ns[0], `lb1.${WWW}`, 'www: the mapped DNS-LB that serves www')
    assert.not.ok(www.ns.includes(`lb2.${WWW}`), `lb2 serves only api, never named for www: ${www.ns}`)
    assert.equal(www.glue[0], `lb1.${WWW} 127.0.61.1`)
    const api = await ask(b, API)
    assert.is(api.ns[0], `lb2.${API}`, 'api: the mapped DNS-LB that serves api')
    assert.equal(api.glue[0], `lb2.${API} 127.0.61.2`)
    for (const n of api.ns) assert.ok([`lb2.${API}`, `lb3.${API}`].includes(n), `only api servers: ${api.ns}`)
    // glb map list shows what each DNS-LB declared.
    const listing = await listMappings({b: {address: b.address, port: b.port}, zone: ZONE, key: KEY})
    assert.equal(listing.mappings.filter((m) => m.prefix === `${ISP}/32`).map((m) => [m.lb, m.names]), [['lb1', [WWW]], ['lb2', [API]]])
  } finally {
    await b.close()
  }
})

test('a name no mapped DNS-LB serves follows the no-mapping policy among DNS-LBs that serve it; an undeclared LB serves all', async () => {
  const b = await runDnsB(bState({names: ['www', 'api'], noMapping: 'busiest'}), {address: '127.0.61.21'})
  try {
    assert.ok((await reg(b, 'lb1', '127.0.61.1', ISP, [WWW])).ok)
    assert.ok((await reg(b, 'lb3', '127.0.61.3', OTHER, [WWW, API])).ok)
    const api = await ask(b, API)
    assert.is(api.ns[0], `lb3.${API}`, `api from ${ISP}: lb1 does not serve it, so the busiest DNS-LB serving api`)
    assert.not.ok(api.ns.includes(`lb1.${API}`))
    // An older DNS-LB that declares nothing serves every name.
    assert.ok((await reg(b, 'lb5', '127.0.61.5', '127.0.61.77')).ok)
    assert.is((await ask(b, API, '127.0.61.77')).ns[0], `lb5.${API}`)
    assert.is((await ask(b, WWW, '127.0.61.77')).ns[0], `lb5.${WWW}`)
  } finally {
    await b.close()
  }
})

test('a declaration naming a name DNS-B does not serve, or no name, is REFUSED with the reason and changes nothing', async () => {
  const b = await runDnsB(bState({names: ['www', 'api']}), {address: '127.0.61.22'})
  try {
    assert.ok((await reg(b, 'lb1', '127.0.61.1', ISP, [WWW])).ok)
    const before = b.role.store.toData()
    const cdn = await reg(b, 'lb1', '127.0.61.9', '127.0.61.54', [WWW, 'cdn.glb.example.test.'])
    assert.not.ok(cdn.ok)
    assert.is(cdn.result, 'REFUSED')
    const why = b.updates.at(-1)!
    assert.match(JSON.stringify(why), /cdn\.glb\.example\.test\., which is not a load-balanced name of glb\.example\.test\./)
    // A DNS-LB declaring no name: the client refuses to send it; DNS-B refuses it too (e.g. from nsupdate).
    const thrown = await reg(b, 'lb1', '127.0.61.9', '127.0.61.54', ['']).then(() => null, (e: Error) => e.message)
    assert.match(thrown ?? 'sent', /at least one load-balanced name/)
    const refusal = b.role.store.check([{op: 'add', name: `lb1.lbs.${ZONE}`, type: RRType.TXT, ttl: 300, rdata: Buffer.from([0]), data: ['']}], {keyName: 'glb-lab.'} as never)
    assert.match(refusal?.reason ?? '', /TXT declares no load-balanced name/)
    const after = b.role.store.toData()
    assert.equal({lbs: after.lbs, names: after.names, mapping: after.mapping.entries}, {lbs: before.lbs, names: before.names, mapping: before.mapping.entries}, 'nothing changed')
    assert.is((await ask(b, WWW)).ns[0], `lb1.${WWW}`)
  } finally {
    await b.close()
  }
})

test('declared names survive a restart (registrations file)', async () => {
  let b = await runDnsB(bState({names: ['www', 'api']}), {address: '127.0.61.23'})
  const dir = b.dir
  try {
    assert.ok((await reg(b, 'lb1', '127.0.61.1', ISP, [WWW])).ok)
    assert.ok((await reg(b, 'lb3', '127.0.61.3', OTHER, [WWW, API])).ok)
    await b.close(true)
    b = await runDnsB(bState({names: ['www', 'api']}), {address: '127.0.61.23', dir})
    assert.equal(b.role.store.namesOf('lb1', Date.now() / 1000), [WWW])
    assert.is((await ask(b, API)).ns[0], `lb3.${API}`)
  } finally {
    await b.close()
    rmSync(dir, {recursive: true, force: true})
  }
})

test.run()
