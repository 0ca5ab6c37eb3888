// One DNS-LB process serving several load-balanced names (state `names`): each name answers from its own pool with
// its own choice and `_explain`; other names are REFUSED; one registration declares every name to DNS-B, which then
// refers the resolver for each name to this DNS-LB. The single-name state form still loads (names = [zone]).
// glb-test-timeout: 60
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {join} from 'node:path'
import {buildQuery, exchange} from '../../../src/dns/client.js'
import {startServer, type DnsServer} from '../../../src/dns/server.js'
import {Rcode, RRType} from '../../../src/dns/wire/constants.js'
import {BalancerGroup} from '../../../src/roles/balancer/balancer-group.js'
import {registrationClient} from '../../../src/roles/balancer/registration-client.js'
import {bState, nsNames, runDnsB, SECRET, type DnsBLab} from '../referral/dns-b-lab.js'
import {lbState, tempDir, waitFor} from './balancer-fixture.js'

const LB = '127.0.62.1'
const B = '127.0.62.20'
const WWW = 'www.glb.example.test.'
const API = 'api.glb.example.test.'

test('two names, two pools, one process: each name its own answer and _explain; one registration declares both', async () => {
  const tmp = tempDir()
  let b: DnsBLab | null = null
  let group: BalancerGroup | null = null
  let server: DnsServer | null = null
  try {
    b = await runDnsB(bState({names: ['www', 'api']}), {address: B})
    const state = lbState({
      zone: undefined, pool: undefined,
      names: [{zone: WWW, pool: {servers: [{address: '127.0.62.11'}]}}, {zone: API, pool: {servers: [{address: '127.0.62.21'}, {address: '127.0.62.22'}]}}],
      probe: {method: 'tcp', port: 9, interval: 60_000, timeout: 100},
      measurements: {interval: 100_000},
      // DNS-B plays the resolver: whoami asked straight at it sees this DNS-LB's address.
      isp: {resolver: B, port: b.port},
      dnsb: {addresses: [B], port: b.port, zone: 'glb.example.test.', key: {name: 'glb-lab.', algorithm: 'hmac-sha256', secret: SECRET}, lease: 60},
      discoveryInterval: 500,
    })
    group = await BalancerGroup.create({state, stateFile: join(tmp.dir, 'lb1.json'), listen: [`${LB}:0`], registrationClient: registrationClient()})
    server = await startServer({listen: [`${LB}:0`], handler: group.handler, onError: () => {}})
    group.start()
    const port = server.addresses[0]!.port
    const ask = async (name: string, type: number) => (await exchange(LB, buildQuery(name, type), {port, timeoutMs: 2000})).message
    const addrs = (m: Awaited<ReturnType<typeof ask>>) => m.answers.filter((r) => r.type === RRType.A).map((r) => String(r.data)).sort()

    assert.equal(addrs(await ask(WWW, RRType.A)), ['127.0.62.11'])
    assert.equal(addrs(await ask(API, RRType.A)), ['127.0.62.21', '127.0.62.22'], 'api: its own pool (warm-up: all of it)')
    const ns = await ask(API, RRType.NS)
    assert.equal(ns.answers.map((r) => String(r.data)), [`lb1.${API}`], 'each name its own NS')
    const ex = await ask(`_explain.${API}`, RRType.TXT)
    assert.match(String((ex.answers[0]?.data as string[])[0]), /^answer=127\.0\.62\.21,127\.0\.62\.22 /)
    assert.match((ex.answers[0]?.data as string[]).join(' '), /127\.0\.62\.22/)
    assert.not.match((ex.answers[0]?.data as string[]).join(' '), /127\.0\.62\.11/, 'api explains api\'s pool only')
    assert.is((await ask('cdn.glb.example.test.', RRType.A)).rcode, Rcode.REFUSED)
    assert.is((await ask('glb.example.test.', RRType.A)).rcode, Rcode.REFUSED)

    // One registration, both names declared: DNS-B refers this DNS-LB's address for www and for api.
    assert.ok(await waitFor(() => (b!.role.store.namesOf('lb1', Date.now() / 1000) ?? []).length === 2, 5000) !== null)
    assert.equal(b.role.store.namesOf('lb1', Date.now() / 1000), [WWW, API])
    for (const name of [WWW, API]) {
      const r = await exchange(B, buildQuery(name, RRType.A), {port: b.port, source: LB, timeoutMs: 2000})
      assert.is(nsNames(r)[0], `lb1.${name}`)
    }
    assert.is(group.members.length, 2)
  } finally {
    await server?.close()
    await group?.close()
    await b?.close()
    tmp.done()
  }
})

test('a follower worker takes each name\'s pool from its leader\'s events, by zone; samples reach every name', async () => {
  const tmp = tempDir()
  let group: BalancerGroup | null = null
  try {
    const from = (n: string) => ({from: {servers: ['127.0.62.99'], name: `${n}._pool.example.test.`}})
    const state = lbState({zone: undefined, pool: undefined, names: [{zone: WWW, pool: from('www')}, {zone: API, pool: from('api')}], measurements: {interval: 100_000}})
    group = await BalancerGroup.create({state, stateFile: join(tmp.dir, 'lb1.json'), listen: ['127.0.62.2:0'], workers: {leader: false}})
    group.start()
    group.apply({kind: 'pool', zone: API, servers: [{address: '127.0.62.21', weight: 1, cost: 0}]})
    group.apply({kind: 'pool', zone: WWW, servers: [{address: '127.0.62.11', weight: 1, cost: 0}, {address: '127.0.62.21', weight: 1, cost: 0}]})
    const [www, api] = group.members
    assert.equal(www!.servers.map((x) => x.address), ['127.0.62.11', '127.0.62.21'])
    assert.equal(api!.servers.map((x) => x.address), ['127.0.62.21'])
    group.apply({kind: 'egress', addresses: ['127.0.62.53']})
    for (const m of group.members) assert.ok(m.handler.isHome('127.0.62.53'), 'every name knows the resolver')
    group.apply({kind: 'sample', address: '127.0.62.21', sample: {ok: true, rttMs: 5, at: Date.now()}})
    assert.is(www!.health.get('127.0.62.21')?.samples, 1)
    assert.is(api!.health.get('127.0.62.21')?.samples, 1)
  } finally {
    await group?.close()
    tmp.done()
  }
})

test('state: the single-name form loads as names [zone]; both forms at once, no name, a repeated name: one line naming the field', async () => {
  const {parseStateText} = await import('../../../src/state/load-state-file.js')
  const {balancerStateSchema} = await import('../../../src/roles/balancer/balancer-state.js')
  const one = parseStateText('lb.json', JSON.stringify({label: 'lb1', zone: WWW, pool: {servers: [{address: '127.0.0.1'}]}}), balancerStateSchema)
  assert.equal(one.names.map((n) => n.zone), [WWW])
  const pool = {servers: [{address: '127.0.0.1'}]}
  const cases: [object, RegExp][] = [
    [{label: 'lb1', names: []}, /^lb\.json: names: expected at least one load-balanced name/],
    [{label: 'lb1'}, /^lb\.json: zone: expected the load-balanced name this DNS-LB serves \(or "names"/],
    [{label: 'lb1', zone: WWW, pool, names: [{zone: API, pool}]}, /^lb\.json: names: expected either "names"/],
    [{label: 'lb1', names: [{zone: WWW, pool}, {zone: WWW, pool}]}, /^lb\.json: names\[1\]\.zone: expected a name listed once/],
    [{label: 'lb1', names: [{zone: WWW}]}, /^lb\.json: names\[0\]\.pool: /],
  ]
  for (const [value, want] of cases) {
    assert.throws(() => parseStateText('lb.json', JSON.stringify(value), balancerStateSchema), (e: Error) => !e.message.includes('\n') && want.test(e.message), JSON.stringify(value))
  }
})

test.run()
