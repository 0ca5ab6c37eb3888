// Fuzz a DNS-LB (apex answers, SOA/NS, _explain) on the real server with hostile packets over UDP and TCP.
// glb-test-timeout: 240
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {join} from 'node:path'
import {buildQuery} from '../../src/dns/client.js'
import {startServer} from '../../src/dns/server.js'
import {EdnsOption, RRType} from '../../src/dns/wire/constants.js'
import type {Message} from '../../src/dns/wire/reader.js'
import {DnsLoadBalancer} from '../../src/roles/balancer/dns-load-balancer.js'
import {lbState, tempDir, ZONE} from '../roles/balancer/balancer-fixture.js'
import {fuzzServer, summary, type Ping} from './fuzz-harness.js'
import {fuzzPackets, fuzzSeed} from './fuzz-seed.js'

const SERVERS = ['127.82.10.1', '127.82.10.2']
const NAMES = [ZONE, `lb1.${ZONE}`, `_explain.${ZONE}`, `x.${ZONE}`, 'glb.example.test.', 'other.test.']

function balancerSeeds(): Buffer[] {
  const out: Buffer[] = []
  for (const name of NAMES) {
    for (const type of [RRType.A, RRType.AAAA, RRType.NS, RRType.SOA, RRType.TXT, RRType.ANY, RRType.MX]) {
      out.push(buildQuery(name, type, {edns: false}))
      out.push(buildQuery(name, type, {edns: {do: true, options: [Buffer.from([0, EdnsOption.NSID, 0, 0])]}}))
    }
  }
  return out
}

const apexPing: Ping = {
  query: (id) => buildQuery(ZONE, RRType.A, {id}),
  check: (m: Message) => {
    const a = m.answers.filter((r) => r.type === RRType.A).map((r) => String(r.data)).sort().join(',')
    return m.rcode === 0 && a === SERVERS.join(',') ? null : `rcode ${m.rcode}, A ${a}`
  },
}

test('a DNS-LB survives 100,000 hostile packets and still answers its name with the pool', async () => {
  const seed = fuzzSeed()
  console.log(`    seed ${seed} (GLB_FUZZ_SEED=${seed} repeats this run)`)
  const tmp = tempDir()
  const errors: unknown[] = []
  const state = lbState({pool: {servers: SERVERS.map((address) => ({address}))}, probe: {method: 'tcp', port: 9}, explain: {allow: ['127.0.0.0/8']}})
  const lb = await DnsLoadBalancer.create({state, stateFile: join(tmp.dir, 'lb1.json'), listen: ['127.82.0.1:0']})
  const server = await startServer({listen: [{address: '127.82.0.1', port: 0}], handler: lb.handler, nsid: 'glb dns-lb lb1', tcpSlowMs: 300, onError: (e) => errors.push(e)})
  try {
    const {udp, tcp} = fuzzPackets()
    const r = await fuzzServer({
      address: '127.82.0.1', port: server.addresses[0]!.port, source: '127.82.1.1', seed, udpPackets: udp, tcpPackets: tcp,
      seeds: balancerSeeds(), names: NAMES, ping: apexPing, tcpSlowMs: 300,
    })
    console.log(summary('DNS-LB', r))
    assert.equal(r.failures, [], r.failures.join('\n'))
    assert.equal([...new Set(errors.map(String))], [], `${errors.length} handler errors (bugs, answered SERVFAIL)`)
    assert.ok(r.sent.udp + r.sent.tcp >= udp + tcp)
  } finally {
    await server.close()
    await lb.close()
    tmp.done()
  }
})

test.run()
