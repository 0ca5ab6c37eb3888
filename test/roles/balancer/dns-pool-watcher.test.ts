// A DNS-LB whose pool is published by DNS-A at P._pool.<zone>: it reads the pool over DNS, polls the SOA serial,
// and when the pool changes probes start for new servers and stop for removed ones. Also the TXT parser.
// glb-test-timeout: 120
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {join} from 'node:path'
import {startServer} from '../../../src/dns/server.js'
import {RRType} from '../../../src/dns/wire/constants.js'
import {startContentServers} from '../../../src/lab/content-server.js'
import {AuthorityHandler} from '../../../src/roles/authority/authority-handler.js'
import {Zone} from '../../../src/roles/authority/zone.js'
import type {ZoneRecord} from '../../../src/roles/authority/zone.js'
import {parsePublishedPool, poolZone} from '../../../src/roles/balancer/dns-pool-watcher.js'
import {lbState, sleep, startLb, tempDir, waitFor} from './balancer-fixture.js'

const A_ADDR = '127.0.48.10'
const LB = '127.0.49.1'
const S1 = '127.0.48.1', S2 = '127.0.48.2', S3 = '127.0.48.3'
const HTTP_PORT = 28148
const OWNER = 'www._pool.example.test.'

function zone(serial: number, servers: string[], name = 'www.glb.example.test.'): Zone {
  const soa = {mname: 'ns1.example.test.', rname: 'hostmaster.example.test.', serial, refresh: 3600, retry: 600, expire: 86400, minimum: 60}
  const records: ZoneRecord[] = [
    ...servers.map((s) => ({name: OWNER, type: RRType.A, ttl: 300, data: s})),
    {name: OWNER, type: RRType.TXT, ttl: 300, data: [`name=${name}`, ...servers.map((s) => `${s} weight=1 cost=0`)]},
  ]
  return new Zone('example.test.', soa, 300, records)
}

test('parsePublishedPool reads name=, weights, costs and capacity, and adds A-only servers', () => {
  const p = parsePublishedPool(['name=www.glb.example.test.', '127.0.0.1 weight=2 cost=3 capacity=100', '::1 weight=1 cost=0 future=x'], ['127.0.0.1', '127.0.0.2'])
  assert.is(p.name, 'www.glb.example.test.')
  assert.equal(p.servers, [
    {address: '127.0.0.1', weight: 2, cost: 3, capacity: 100},
    {address: '::1', weight: 1, cost: 0},
    {address: '127.0.0.2', weight: 1, cost: 0},
  ])
  assert.throws(() => parsePublishedPool(['not-an-address weight=1'], []), /expected "<address> weight=W cost=C"/)
  assert.is(poolZone(OWNER), 'example.test.')
})

test('reads the pool over DNS and follows a change of it (serial bump): probes start and stop', async () => {
  const tmp = tempDir()
  const cs = await startContentServers({
    matrix: {servers: {[S1]: {default: 10}, [S2]: {default: 30}, [S3]: {default: 3}}},
    addresses: [S1, S2, S3],
    ports: {http: HTTP_PORT, udp: null, dns: null},
  })
  const handler = new AuthorityHandler([zone(1, [S1, S2])])
  const dnsA = await startServer({listen: [`${A_ADDR}:0`], handler, onError: () => {}})
  const logs: string[] = []
  const lb = await startLb({
    address: LB,
    state: lbState({
      pool: {from: {servers: [A_ADDR], port: dnsA.addresses[0]!.port, name: OWNER, refresh: 100}},
      probe: {method: 'http', port: HTTP_PORT, interval: 100, timeout: 80},
      measurements: {interval: 100_000},
    }),
    stateFile: join(tmp.dir, 'lb.json'),
    log: (_l, m) => logs.push(m),
  })
  try {
    assert.ok(await waitFor(() => lb.lb.answer.A.join() === S1, 3000) !== null, `answer ${lb.lb.answer.A}; ${logs.join(' | ')}`)
    assert.equal(lb.lb.servers.map((s) => s.address), [S1, S2])
    assert.is(cs.hits.get(S3) ?? 0, 0, 'S3 is not in the pool: never probed')
    // A server added to a measured pool is probed at once and wins when measured; meanwhile the answer stays
    // the measured best (never the whole pool again).
    const before = lb.changes.length
    handler.setZones([zone(2, [S1, S2, S3])])
    assert.ok(await waitFor(() => lb.lb.answer.A.join() === S3, 2000) !== null, `answer ${lb.lb.answer.A}; ${logs.join(' | ')}`)
    assert.ok((cs.hits.get(S3) ?? 0) > 0, 'probes started for the new server')
    assert.equal(lb.changes.slice(before).map((c) => c.A), [[S3]], 'one change: S1 -> S3')
    handler.setZones([zone(3, [S2, S3])])
    assert.ok(await waitFor(() => lb.lb.servers.length === 2, 2000) !== null)
    await sleep(150) // a probe of S1 in flight at the change may still land
    const s1Hits = cs.hits.get(S1) ?? 0
    await sleep(500)
    assert.is(cs.hits.get(S1) ?? 0, s1Hits, 'probes stopped for the removed server')
    assert.is(lb.lb.health.get(S1), undefined, 'its health is forgotten')
    // A pool published for another load-balanced name is refused and the last pool kept (logged once).
    handler.setZones([zone(4, [S1], 'other.glb.example.test.')])
    await sleep(500)
    assert.equal(lb.lb.servers.map((s) => s.address), [S2, S3])
    assert.is(logs.filter((l) => l.includes('is the pool of other.glb.example.test.')).length, 1)
  } finally {
    await lb.close()
    await dnsA.close()
    await cs.close()
    tmp.done()
  }
})

test.run()
