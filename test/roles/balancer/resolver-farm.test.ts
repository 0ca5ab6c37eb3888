// A DNS-LB behind a resolver farm (several egress addresses, IPv4 and IPv6; here a round-robin forwarder standing in
// for the farm) registers every egress it sees with a real DNS-B, each with its own lease: a new egress is an
// addition (the others stay), an egress the farm stops using lapses within one lease while the others are renewed,
// and isp.prefixes are registered as prefixes. Every egress and prefix counts as the DNS-LB's own resolver.
// glb-test-timeout: 90
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {join} from 'node:path'
import {parseAddress} from '../../../src/mapping/index.js'
import {registrationClient} from '../../../src/roles/balancer/registration-client.js'
import {runLocalServer, type LocalServer} from '../../helpers/servers.js'
import {bState, runDnsB, SECRET, type DnsBLab} from '../referral/dns-b-lab.js'
import {lbState, startLb, tempDir, waitFor, type RunningLb} from './balancer-fixture.js'
import {startFarmForwarder, type FarmEgress, type FarmForwarder} from './farm-forwarder.js'

const B = '127.0.58.20'
const LB = '127.0.58.1'
const FARM = '127.0.58.53'
const E1 = '127.0.58.61', E2 = '127.0.58.62', E3 = '127.0.58.63', E6 = '::1'
const LEASE = 3

test('every egress of a farm is registered with its own lease; a new one is an addition; an unseen one lapses within a lease', async () => {
  const tmp = tempDir()
  let b: DnsBLab | null = null
  let b6: LocalServer | null = null
  let farm: FarmForwarder | null = null
  let lb: RunningLb | null = null
  const logs: string[] = []
  try {
    b = await runDnsB(bState({maxLeaseTtl: 60}), {address: B})
    // The same DNS-B on ::1, so the farm's IPv6 egress reaches it (whoami answers AAAA/TXT "::1").
    b6 = await runLocalServer(b.role.handler, {address: '::1', opcodes: b.role.opcodes})
    const via = (source: string): FarmEgress => ({source, upstream: source.includes(':') ? {address: '::1', port: b6!.port} : {address: B, port: b!.port}})
    farm = await startFarmForwarder(FARM, [via(E1)])
    lb = await startLb({
      address: LB, start: true,
      state: lbState({
        pool: {servers: [{address: '127.0.58.11'}]},
        probe: {method: 'tcp', port: 9, interval: 60_000, timeout: 100},
        measurements: {interval: 100_000},
        isp: {resolver: FARM, port: farm.port, prefixes: ['10.58.0.0/16'], whoami: 4},
        dnsb: {addresses: [B], port: b.port, zone: 'glb.example.test.', key: {name: 'glb-lab.', algorithm: 'hmac-sha256', secret: SECRET}, lease: LEASE},
        discoveryInterval: 300,
      }),
      stateFile: join(tmp.dir, 'lb1.json'),
      registrationClient: registrationClient(),
      log: (_l, m) => logs.push(m),
    })
    const table = b.role.store.table
    const lb1 = () => b!.role.store.idOfLabel('lb1')
    /** The DNS-LB the DNS-B maps `addr` to now, by the exact /32 (/128) or prefix length `len`. */
    const mapped = (addr: string, len = addr.includes(':') ? 128 : 32) => {
      const m = table.lookupSubnet(parseAddress(addr)!, len, Date.now() / 1000)
      return m !== null && m.prefixLen === len && m.lbs[0] === lb1()
    }
    const why = () => `mapped: ${JSON.stringify(lb!.lb.registration?.status())}; logs: ${logs.join(' | ')}`

    assert.ok(await waitFor(() => mapped(E1) && mapped('10.58.7.9', 16), 5000) !== null, why())
    assert.not.ok(mapped(E2), 'E2 not used yet')

    // The farm grows: every new egress is added, E1 stays mapped all along (never moved).
    farm.egresses = [via(E1), via(E2), via(E3), via(E6)]
    let e1Lost = false
    const all = await waitFor(() => {
      if (!mapped(E1)) e1Lost = true
      return mapped(E2) && mapped(E3) && mapped(E6)
    }, 5000)
    assert.ok(all !== null, why())
    assert.not.ok(e1Lost, 'a new egress is an addition, not a move: E1 stayed mapped')
    assert.equal(lb.lb.registration!.status().egresses, [E6, E1, E2, E3].sort())
    for (const a of [E1, E2, E3, E6, '10.58.200.1']) assert.ok(lb.lb.handler.isHome(a), `${a} is the DNS-LB's own resolver`)
    assert.not.ok(lb.lb.handler.isHome('127.0.58.99'))

    // E2 leaves the farm: nothing deletes it, its lease lapses within one lease; the others are renewed meanwhile.
    farm.egresses = [via(E1), via(E3), via(E6)]
    const left = performance.now()
    const gone = await waitFor(() => !mapped(E2), (LEASE + 2) * 1000)
    const after = performance.now() - left
    assert.ok(gone !== null, `E2 still mapped ${after.toFixed(0)} ms after leaving; ${why()}`)
    assert.ok(after <= LEASE * 1000 + 1000, `E2 lapsed ${after.toFixed(0)} ms after leaving (lease ${LEASE} s, counted in whole seconds)`)
    // Past two more leases: the rest were renewed (each registration lives one lease), E2 stays gone.
    await waitFor(() => false, LEASE * 1000 + 500)
    for (const a of [E1, E3, E6]) assert.ok(mapped(a), `${a} renewed while seen; ${why()}`)
    assert.ok(mapped('10.58.0.1', 16), 'isp prefix renewed')
    assert.not.ok(mapped(E2))
    assert.not.ok(lb.lb.registration!.status().egresses.includes(E2), 'no longer counted as the own resolver')
    assert.not.ok(lb.lb.handler.isHome(E2))
    assert.ok(logs.some((l) => l.includes(`egress ${E2} not seen for a lease`)), logs.join(' | '))
  } finally {
    await lb?.close()
    await farm?.close()
    await b6?.close()
    await b?.close()
    tmp.done()
  }
})

test('a whoami answer that is not an address registers nothing and loses nothing: the known egress stays renewed', async () => {
  const tmp = tempDir()
  let b: DnsBLab | null = null
  let farm: FarmForwarder | null = null
  let lb: RunningLb | null = null
  const logs: string[] = []
  try {
    b = await runDnsB(bState({maxLeaseTtl: 60}), {address: B})
    farm = await startFarmForwarder(FARM, [{source: E1, upstream: {address: B, port: b.port}}])
    lb = await startLb({
      address: LB, start: true,
      state: lbState({
        pool: {servers: [{address: '127.0.58.11'}]},
        probe: {method: 'tcp', port: 9, interval: 60_000, timeout: 100},
        measurements: {interval: 100_000},
        isp: {resolver: FARM, port: farm.port},
        dnsb: {addresses: [B], port: b.port, zone: 'glb.example.test.', key: {name: 'glb-lab.', algorithm: 'hmac-sha256', secret: SECRET}, lease: LEASE},
        discoveryInterval: 300,
      }),
      stateFile: join(tmp.dir, 'lb1.json'),
      registrationClient: registrationClient(),
      log: (_l, m) => logs.push(m),
    })
    const mapped = (addr: string) => {
      const m = b!.role.store.table.lookupAddress(addr, Date.now() / 1000)
      return m !== null && m.lbs[0] === b!.role.store.idOfLabel('lb1')
    }
    assert.ok(await waitFor(() => mapped(E1), 5000) !== null, logs.join(' | '))
    const leases = () => b!.role.store.table.leaseCount
    const before = leases()
    farm.answerText = 'not-an-address'
    // Two leases of broken answers: E1 is still mapped (renewed), nothing else was registered, one line says why.
    await waitFor(() => false, 2 * LEASE * 1000)
    assert.ok(mapped(E1), `E1 kept; logs: ${logs.join(' | ')}`)
    assert.is(leases(), before, 'nothing registered from the broken answers')
    assert.equal(lb.lb.registration!.status().egresses, [E1])
    const complaints = logs.filter((l) => l.startsWith('cannot discover'))
    assert.is(complaints.length, 1, complaints.join(' | '))
    assert.match(complaints[0]!, /gave no address/)
  } finally {
    await lb?.close()
    await farm?.close()
    await b?.close()
    tmp.done()
  }
})

test.run()
