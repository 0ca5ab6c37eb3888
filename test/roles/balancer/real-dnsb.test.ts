// The DNS-LB against the real DNS-B (src/roles/referral): it discovers its egress through DNS-B's whoami,
// registers with a signed UPDATE, and DNS-B then refers that resolver address to this DNS-LB (NS
// lb1.www.glb.example.test. + glue); after the egress moves, the new address is referred to it too.
// glb-test-timeout: 120
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {join} from 'node:path'
import {buildQuery, exchange} from '../../../src/dns/client.js'
import {startServer} from '../../../src/dns/server.js'
import {RRType} from '../../../src/dns/wire/constants.js'
import {registrationClient} from '../../../src/roles/balancer/registration-client.js'
import {createReferralRole} from '../../../src/roles/referral/referral-role.js'
import {referralStateSchema} from '../../../src/roles/referral/referral-state.js'
import type {RegistrationClient} from '../../../src/roles/balancer/egress-registrar.js'
import {lbState, startLb, tempDir, ZONE} from './balancer-fixture.js'

const LB = '127.0.54.1'
const B = '127.0.54.20'
const B_ZONE = 'glb.example.test.'
const SECRET = Buffer.from('real dns-b key for lb tests, lab only').toString('base64')
const KEY = {name: 'lb-update.glb.example.test.', algorithm: 'hmac-sha256', secret: SECRET}

/** The NS names and glue DNS-B refers `www` to when asked from `source`. */
async function referral(port: number, source: string): Promise<{ns: string[]; glue: string[]}> {
  const r = await exchange(B, buildQuery(ZONE, RRType.A, {rd: false}), {port, source, timeoutMs: 2000})
  return {
    ns: r.message.authorities.filter((x) => x.type === RRType.NS).map((x) => String(x.data)),
    glue: r.message.additionals.filter((x) => x.type === RRType.A).map((x) => `${x.name} ${x.data}`),
  }
}

test('registers with the real DNS-B, which then refers the egress address to this DNS-LB; follows an egress move', async () => {
  const tmp = tempDir()
  const bState = referralStateSchema.parse({
    zone: B_ZONE,
    ns: [{name: `b1.${B_ZONE}`, address: B}],
    names: ['www'],
    noMapping: 'all-servers',
    keys: [KEY],
  })
  const role = await createReferralRole(bState, {stateFile: join(tmp.dir, 'b.json'), offline: true})
  const dnsb = await startServer({listen: [`${B}:0`], handler: role.handler, opcodes: role.opcodes, onError: () => {}})
  const port = dnsb.addresses[0]!.port
  // DNS-B plays the ISP resolver too (the LB asks it directly), so the egress is the LB's own address; a
  // wrapped client then reports a moved egress to exercise re-registration against the real store.
  const real = registrationClient()
  let moved: string | null = null
  const client: RegistrationClient = {...real, discoverEgress: async (o) => moved ?? real.discoverEgress(o)}
  const logs: string[] = []
  const lb = await startLb({
    address: LB,
    state: lbState({
      pool: {servers: [{address: '127.0.54.11'}]},
      probe: {method: 'http', port: 28154, interval: 500, timeout: 100},
      measurements: {interval: 100_000},
      isp: {resolver: B, port},
      dnsb: {addresses: [B], port, zone: B_ZONE, key: KEY, lease: 30},
      discoveryInterval: 300,
    }),
    stateFile: join(tmp.dir, 'lb1.json'),
    registrationClient: client,
    log: (_l, m) => logs.push(m),
  })
  try {
    const referredToLb = async (source: string) => {
      const r = await referral(port, source)
      return r.ns.includes(`lb1.${ZONE}`) && r.glue.includes(`lb1.${ZONE} ${LB}`)
    }
    let ok = false
    for (let i = 0; i < 40 && !ok; i++) {
      ok = await referredToLb(LB)
      if (!ok) await new Promise((r) => setTimeout(r, 100))
    }
    assert.ok(ok, `DNS-B does not refer ${LB} to lb1: ${JSON.stringify(await referral(port, LB))}; logs: ${logs.join(' | ')}`)
    assert.is(lb.lb.registration!.status().egress, LB)

    moved = '127.0.54.53'
    let movedOk = false
    for (let i = 0; i < 40 && !movedOk; i++) {
      movedOk = await referredToLb('127.0.54.53')
      if (!movedOk) await new Promise((r) => setTimeout(r, 100))
    }
    assert.ok(movedOk, `DNS-B does not refer the moved egress to lb1: ${JSON.stringify(await referral(port, '127.0.54.53'))}`)
  } finally {
    await lb.close()
    await dnsb.close()
    await role.close()
    tmp.done()
  }
})

test.run()
