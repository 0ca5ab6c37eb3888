// DNS-B mirrors DNS-A's pools over DNS (SOA serial polling) and republishes them; changes arrive without restarts.
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {readFileSync} from 'node:fs'
import {buildQuery, exchange} from '../../../src/dns/client.js'
import {RRType} from '../../../src/dns/wire/constants.js'
import {authorityStateSchema, buildZones} from '../../../src/roles/authority/authority-state.js'
import {parsePoolTxt} from '../../../src/roles/referral/pool-mirror.js'
import {runAuthorityServer} from '../../helpers/servers.js'
import {bState, runDnsB} from './dns-b-lab.js'

const aState = () => JSON.parse(readFileSync(new URL('../../../fixtures/a.json', import.meta.url), 'utf8'))

async function until<T>(what: string, fn: () => Promise<T | null>, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const v = await fn().catch(() => null)
    if (v !== null) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

test('parsePoolTxt reads DNS-A\'s TXT form', () => {
  const p = parsePoolTxt('www', ['name=WWW.glb.example.test', '127.0.10.1 weight=2 cost=1 capacity=100', 'junk', 'fd00::10:2 weight=1 cost=0'])
  assert.equal(p, {pool: 'www', name: 'www.glb.example.test.', txt: ['name=WWW.glb.example.test', '127.0.10.1 weight=2 cost=1 capacity=100', 'junk', 'fd00::10:2 weight=1 cost=0'],
    servers: [{address: '127.0.10.1', weight: 2, cost: 1, capacity: 100}, {address: 'fd00::10:2', weight: 1, cost: 0}]})
  assert.is(parsePoolTxt('x', ['127.0.0.1 weight=1']), null, 'no name: not a pool')
})

test('DNS-B republishes DNS-A\'s pool as www._pool.<its zone>, serves its name, and follows a change of DNS-A', async () => {
  const state = aState()
  const a = await runAuthorityServer(state, {address: '127.0.0.10'})
  const b = await runDnsB(bState({names: [], noMapping: 'all-servers', pools: {server: `127.0.0.10:${a.port}`, zone: 'example.test.', names: ['www'], refreshMs: 100}}), {offline: false})
  const ask = (name: string, type: number) => exchange(b.address, buildQuery(name, type), {port: b.port, timeoutMs: 2000})
  try {
    const txt = await until('the pool at DNS-B', async () => {
      const r = await ask('www._pool.glb.example.test.', RRType.TXT)
      return r.message.answers.length ? r.message.answers[0]!.data as string[] : null
    })
    assert.equal(txt, ['name=www.glb.example.test.', '127.0.10.1 weight=1 cost=0', '127.0.10.2 weight=1 cost=0', '127.0.10.3 weight=1 cost=0'])
    const direct = await ask('www.glb.example.test.', RRType.A)
    assert.equal(direct.message.answers.map((x) => x.data), ['127.0.10.1', '127.0.10.2', '127.0.10.3'], 'the pool\'s name is load-balanced (here: all servers)')
    // DNS-A changes its pool and bumps the serial; DNS-B notices by polling the SOA.
    state.pools.www.servers.push({address: '127.0.10.4', weight: 1, cost: 0})
    state.zones[0].soa.serial++
    a.handler.setZones(buildZones(authorityStateSchema.parse(state)))
    await until('the new server at DNS-B', async () => {
      const r = await ask('www._pool.glb.example.test.', RRType.A)
      return r.message.answers.some((x) => x.data === '127.0.10.4') ? true : null
    })
    const after = await ask('www.glb.example.test.', RRType.A)
    assert.ok(after.message.answers.some((x) => x.data === '127.0.10.4'))
  } finally {
    await b.close()
    await a.close()
  }
})

test.run()
