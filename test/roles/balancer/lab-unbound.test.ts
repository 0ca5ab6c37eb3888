// The whole chain with a real resolver: a DNS-LB discovers the egress of its ISP's unbound (which differs from
// unbound's listen address) through DNS-A and the real DNS-B, registers it, and a client of that unbound then
// gets the server this DNS-LB measured as nearest for www.example.test (CNAME -> DNS-B referral -> DNS-LB).
// Needs root (port 53: resolvers ask referred servers there) and unbound.
// glb-test-timeout: 180
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {join} from 'node:path'
import {startServer} from '../../../src/dns/server.js'
import type {DnsServer} from '../../../src/dns/server.js'
import {RRType} from '../../../src/dns/wire/constants.js'
import {startContentServers} from '../../../src/lab/content-server.js'
import type {ContentServers} from '../../../src/lab/content-server.js'
import {startRealResolver} from '../../../src/lab/real-resolvers.js'
import type {RealResolver} from '../../../src/lab/real-resolvers.js'
import {AuthorityHandler} from '../../../src/roles/authority/authority-handler.js'
import {Zone} from '../../../src/roles/authority/zone.js'
import {registrationClient} from '../../../src/roles/balancer/registration-client.js'
import {createReferralRole} from '../../../src/roles/referral/referral-role.js'
import type {ReferralRole} from '../../../src/roles/referral/referral-role.js'
import {referralStateSchema} from '../../../src/roles/referral/referral-state.js'
import {requires} from '../../helpers/env.js'
import {runTool} from '../../helpers/run-tool.js'
import {lbState, startLb, tempDir, waitFor} from './balancer-fixture.js'
import type {RunningLb} from './balancer-fixture.js'

const A = '127.0.56.10', B = '127.0.56.20', LB = '127.0.56.1'
const ISP = '127.0.56.53', EGRESS = '127.0.56.54'
const S1 = '127.0.56.101', S2 = '127.0.56.102'
const HTTP_PORT = 28156
const KEY = {name: 'lb-update.glb.example.test.', algorithm: 'hmac-sha256', secret: Buffer.from('lab unbound chain key, not a secret').toString('base64')}

requires(['root', 'unbound', 'dig'], test).test('discovers unbound\'s egress through DNS-A and DNS-B, registers it, and unbound\'s clients get the nearest server', async () => {
  const tmp = tempDir()
  let cs: ContentServers | undefined, dnsA: DnsServer | undefined, dnsB: DnsServer | undefined, role: ReferralRole | undefined
  let unbound: RealResolver | undefined, lb: RunningLb | undefined
  try {
    cs = await startContentServers({matrix: {servers: {[S1]: {from: {[LB]: 40}}, [S2]: {from: {[LB]: 5}}}}, addresses: [S1, S2], ports: {http: HTTP_PORT, udp: null, dns: null}})
    const soa = {mname: 'ns1.example.test.', rname: 'hostmaster.example.test.', serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum: 60}
    const zone = new Zone('example.test.', soa, 300, [
      {name: 'example.test.', type: RRType.NS, ttl: 300, data: 'ns1.example.test.'},
      {name: 'ns1.example.test.', type: RRType.A, ttl: 300, data: A},
      {name: 'www.example.test.', type: RRType.CNAME, ttl: 300, data: 'www.glb.example.test.'},
      {name: 'glb.example.test.', type: RRType.NS, ttl: 300, data: 'b1.glb.example.test.'},
      {name: 'b1.glb.example.test.', type: RRType.A, ttl: 300, data: B},
    ])
    dnsA = await startServer({listen: [`${A}:53`], handler: new AuthorityHandler([zone]), onError: () => {}})
    const bState = referralStateSchema.parse({zone: 'glb.example.test.', ns: [{name: 'b1.glb.example.test.', address: B}], names: ['www'], keys: [KEY], referralTtl: 5})
    role = await createReferralRole(bState, {stateFile: join(tmp.dir, 'b.json'), offline: true})
    dnsB = await startServer({listen: [`${B}:53`], handler: role.handler, opcodes: role.opcodes, onError: () => {}})
    unbound = await startRealResolver('unbound', {listen: ISP, egress: EGRESS, zone: 'example.test', auth: [A]})
    lb = await startLb({
      address: LB,
      port: 53,
      state: lbState({
        pool: {servers: [{address: S1}, {address: S2}]},
        probe: {method: 'http', port: HTTP_PORT, interval: 300, timeout: 200},
        measurements: {interval: 100_000},
        isp: {resolver: ISP},
        dnsb: {addresses: [B], zone: 'glb.example.test.', key: KEY, lease: 60},
        discoveryInterval: 2000,
      }),
      stateFile: join(tmp.dir, 'lb1.json'),
      registrationClient: registrationClient(),
    })
    const status = () => lb!.lb.registration!.status()
    assert.ok(await waitFor(() => status().registered[B]?.prefix === `${EGRESS}/32`, 15_000) !== null, `status ${JSON.stringify(status())}`)
    assert.is(status().egress, EGRESS, 'the egress is unbound\'s outgoing address, not its listen address')
    assert.ok(await waitFor(() => lb!.lb.answer.A.join() === S2, 5000) !== null)
    const r = await runTool('dig', [`@${ISP}`, '+time=5', '+tries=1', 'www.example.test', 'A'], {timeoutMs: 15_000})
    assert.match(r.stdout, /status: NOERROR/, r.stdout)
    assert.match(r.stdout, /www\.example\.test\.\s+\d+\s+IN\s+CNAME\s+www\.glb\.example\.test\./)
    assert.match(r.stdout, /www\.glb\.example\.test\.\s+\d+\s+IN\s+A\s+127\.0\.56\.102/, `the nearest server for this POP (5 ms): ${r.stdout}`)
  } finally {
    await lb?.close()
    await unbound?.stop()
    await dnsB?.close()
    await role?.close()
    await dnsA?.close()
    await cs?.close()
    tmp.done()
  }
})

test.run()
