// DNS-LB discovery and registration against stand-in DNS-Bs: the LB learns its resolver's egress by whoami,
// registers "egress/32 -> lb1" (TSIG-signed UPDATE) with every DNS-B, renews before the lease ends, adds a new
// egress within one discovery interval (the old one is not deleted, only no longer renewed: a resolver farm sends
// from several), logs a failing DNS-B once, keeps answering meanwhile, and in direct mode pushes its measurements.
// glb-test-timeout: 120
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {join} from 'node:path'
import {createTsigKey} from '../../../src/dns/tsig/tsig-keyring.js'
import {Rcode, RRType} from '../../../src/dns/wire/constants.js'
import {startContentServers} from '../../../src/lab/content-server.js'
import {registrationClient} from '../../../src/roles/balancer/registration-client.js'
import {lbState, startLb, tempDir, waitFor, ZONE} from './balancer-fixture.js'
import {startStandInDnsB} from './standin-dnsb.js'
import type {SeenRecord, StandInDnsB} from './standin-dnsb.js'

const LB = '127.0.44.1'
const B1 = '127.0.44.20', B2 = '127.0.44.21'
const B_PORT = 28153
const B_ZONE = 'glb.example.test.'
const SECRET = Buffer.from('stand-in dns-b key for lb tests').toString('base64')
const KEY = {name: 'lb-update.glb.example.test.', algorithm: 'hmac-sha256', secret: SECRET}
const tsigKey = createTsigKey(KEY.name, KEY.algorithm, Buffer.from(SECRET, 'base64'))
const S1 = '127.0.45.1', S2 = '127.0.45.2'
const HTTP_PORT = 28145

function state(extra: Record<string, unknown> = {}, dnsb: Record<string, unknown> = {}) {
  return lbState({
    pool: {servers: [{address: S1}, {address: S2}]},
    probe: {method: 'http', port: HTTP_PORT, interval: 100, timeout: 80},
    measurements: {interval: 100_000},
    // The stand-in DNS-B also plays the resolver: the egress it reports is the asker's address or the one set.
    isp: {resolver: B1, port: B_PORT},
    dnsb: {addresses: [B1, B2], port: B_PORT, zone: B_ZONE, key: KEY, lease: 2, ...dnsb},
    discoveryInterval: 400,
    ...extra,
  })
}

/** The PTR adds (lease records) an update section holds: [owner, target, ttl]. */
function ptrAdds(records: SeenRecord[]): Array<[string, string, number]> {
  return records.filter((r) => r.type === RRType.PTR && r.class === 1).map((r) => [r.name, String(r.data), r.ttl])
}

function adds(b: StandInDnsB, owner: string): number[] {
  return b.updates.filter((u) => ptrAdds(u.records).some(([name]) => name === owner)).map((u) => u.at)
}

const OWNER_LB = `32.1.44.0.127.map.${B_ZONE}`
const OWNER_NEW = `32.53.44.0.127.map.${B_ZONE}`

test('discovers the egress, registers it with every DNS-B, renews it while seen; a new egress is added, the old one left to lapse', async () => {
  const tmp = tempDir()
  const b1 = await startStandInDnsB({address: B1, port: B_PORT, zone: B_ZONE, key: tsigKey})
  const b2 = await startStandInDnsB({address: B2, port: B_PORT, zone: B_ZONE, key: tsigKey})
  const logs: string[] = []
  const lb = await startLb({address: LB, state: state(), stateFile: join(tmp.dir, 'lb1.json'), registrationClient: registrationClient(), log: (_l, m) => logs.push(m)})
  try {
    assert.ok(await waitFor(() => adds(b1, OWNER_LB).length > 0 && adds(b2, OWNER_LB).length > 0, 3000) !== null, `updates: ${JSON.stringify(b1.updates)}; logs: ${logs.join(' | ')}`)
    assert.ok(b1.whoami.includes(LB), 'whoami was asked from the DNS-LB\'s own address')
    const first = b1.updates.find((u) => ptrAdds(u.records).length)!
    assert.equal(ptrAdds(first.records), [[OWNER_LB, `lb1.lbs.${B_ZONE}`, 2]], 'egress/32 -> lb1 with the lease as TTL')
    assert.ok(first.records.some((r) => r.name === `lb1.lbs.${B_ZONE}` && r.type === RRType.A && r.class === 1 && r.data === LB), 'the LB\'s address as glue')
    assert.is(first.from, LB, 'UPDATEs come from the DNS-LB\'s address')
    // Renewed once a third of the lease (2 s) is gone, at the next round: well before the lease ends, not every round.
    assert.ok(await waitFor(() => adds(b1, OWNER_LB).length >= 2, 2500) !== null, 'renewed')
    const [t1, t2] = adds(b1, OWNER_LB)
    assert.ok(t2! - t1! < 2000 && t2! - t1! >= 600, `renewed after ${(t2! - t1!).toFixed(0)} ms (lease 2000 ms)`)

    // The resolver's egress changes: within one discovery interval (400 ms) the LB registers the new one.
    const changedAt = performance.now()
    b1.setEgress(LB, '127.0.44.53')
    const moved = await waitFor(() => adds(b1, OWNER_NEW).length > 0 && adds(b2, OWNER_NEW).length > 0, 2000)
    assert.ok(moved !== null, `not re-registered; logs: ${logs.join(' | ')}`)
    // At the next discovery (every 400 ms) or, on a busy machine, the one after: the configured interval is
    // used, not a longer default; a late timer cannot trip it. (Without discovery it never moves: see above.)
    assert.ok(adds(b1, OWNER_NEW)[0]! - changedAt <= 2 * 400 + 500, `re-registered ${(adds(b1, OWNER_NEW)[0]! - changedAt).toFixed(0)} ms after the change`)
    // ... and never deletes the old one (class NONE): it is no longer seen, so no longer renewed, and lapses.
    const oldAdds = adds(b1, OWNER_LB).length
    await waitFor(() => false, 2500)
    assert.not.ok(b1.updates.some((u) => u.records.some((r) => r.name === OWNER_LB && r.type === RRType.PTR && r.class === 254)), 'old registration not deleted')
    assert.ok(adds(b1, OWNER_LB).length <= oldAdds + 1, `the old egress is not renewed once unseen (${adds(b1, OWNER_LB).length - oldAdds} more adds)`)
    assert.ok(adds(b1, OWNER_NEW).length >= 2, 'the new egress is renewed')
    const status = () => lb.lb.registration!.status()
    assert.is(status().egress, '127.0.44.53')
    assert.equal(status().egresses, ['127.0.44.53'], 'the old egress left the set after a lease unseen')
  } finally {
    await lb.close()
    await b1.close()
    await b2.close()
    tmp.done()
  }
})

test('a silent DNS-B is logged once, retried with backoff, and never delays answers; the other DNS-B is registered', async () => {
  const tmp = tempDir()
  const b1 = await startStandInDnsB({address: B1, port: B_PORT, zone: B_ZONE, key: tsigKey})
  const b2 = await startStandInDnsB({address: B2, port: B_PORT, zone: B_ZONE, key: tsigKey})
  b2.silent = true
  const logs: string[] = []
  const lb = await startLb({address: LB, state: state({}, {}), stateFile: join(tmp.dir, 'lb1.json'), registrationClient: registrationClient(), log: (_l, m) => logs.push(m)})
  try {
    assert.ok(await waitFor(() => adds(b1, OWNER_LB).length > 0, 3000) !== null)
    // Answers come at once while the registration with b2 waits for its timeouts.
    for (let i = 0; i < 20; i++) {
      const t0 = performance.now()
      const m = await lb.ask(ZONE, RRType.A)
      assert.is(m.rcode, Rcode.NOERROR)
      // Not held by the registration's 1 s tries: the bound sits under one, with room for a busy machine.
      assert.ok(performance.now() - t0 < 900, `answer took ${(performance.now() - t0).toFixed(0)} ms`)
    }
    await waitFor(() => false, 7000) // several retries (3 tries of 1 s each, then backoff 1 s, 2 s)
    const about = logs.filter((l) => l.includes(`DNS-B ${B2}`) && l.startsWith('cannot register'))
    assert.is(about.length, 1, `logged ${about.length} times: ${about.join(' | ')}`)
    assert.is(adds(b2, OWNER_LB).length, 0)
    b2.silent = false
    assert.ok(await waitFor(() => adds(b2, OWNER_LB).length > 0, 6000) !== null, 'registered once b2 answers again')
    assert.ok(await waitFor(() => logs.some((l) => l.includes(`DNS-B ${B2} works again`)), 1000) !== null, 'recovery logged')
  } finally {
    await lb.close()
    await b1.close()
    await b2.close()
    tmp.done()
  }
})

test('direct mode pushes the measurements as <label>.m.<zone> TXT', async () => {
  const tmp = tempDir()
  const cs = await startContentServers({matrix: {servers: {[S1]: {default: 5}, [S2]: {default: 30}}}, addresses: [S1, S2], ports: {http: HTTP_PORT, udp: null, dns: null}})
  const b1 = await startStandInDnsB({address: B1, port: B_PORT, zone: B_ZONE, key: tsigKey})
  const b2 = await startStandInDnsB({address: B2, port: B_PORT, zone: B_ZONE, key: tsigKey})
  const lb = await startLb({address: LB, state: state({measurements: {interval: 300}}, {mode: 'direct'}), stateFile: join(tmp.dir, 'lb1.json'), registrationClient: registrationClient()})
  try {
    const owner = `lb1.m.${B_ZONE}`
    const pushed = () => b1.updates.flatMap((u) => u.records).filter((r) => r.name === owner && r.type === RRType.TXT && r.class === 1)
    assert.ok(await waitFor(() => pushed().some((r) => (r.data as string[]).length === 2), 4000) !== null, JSON.stringify(b1.updates.map((u) => u.records)))
    const strings = pushed().filter((r) => (r.data as string[]).length === 2).at(-1)!.data as string[]
    const s1 = strings.find((s) => s.startsWith(S1 + ' '))!
    assert.match(s1, /^127\.0\.45\.1 srtt=[\d.]+ loss=0 up=1$/)
    const srtt = Number(/srtt=([\d.]+)/.exec(s1)![1])
    assert.ok(srtt >= 4 && srtt < 20, s1)
    assert.ok(pushed()[0]!.ttl === 2, 'pushed with the lease as TTL')
  } finally {
    await lb.close()
    await b1.close()
    await b2.close()
    await cs.close()
    tmp.done()
  }
})

test.run()
