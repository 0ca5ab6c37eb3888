// Fuzz DNS-ISP (RecursiveHandler: cache, iterative resolution through an in-process lab) with hostile packets.
// glb-test-timeout: 300
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {buildQuery} from '../../src/dns/client.js'
import {startServer} from '../../src/dns/server.js'
import {EdnsOption, RRType} from '../../src/dns/wire/constants.js'
import type {Message} from '../../src/dns/wire/reader.js'
import {RecursiveHandler} from '../../src/roles/recursive/recursive-handler.js'
import {labAddresses, NAME, startTestbed} from '../resolver/gslb-testbed.js'
import {fuzzServer, summary, type Ping} from './fuzz-harness.js'
import {fuzzPackets, fuzzSeed} from './fuzz-seed.js'

const NET = 83
const ad = labAddresses(NET)
const NAMES = ['example.test.', 'www.example.test.', 'mail.example.test.', 'big.example.test.', 'nx.example.test.', NAME, `_explain.${NAME}`, 'glb.example.test.', 'other.test.']

function recursiveSeeds(): Buffer[] {
  const out: Buffer[] = []
  for (const name of NAMES) {
    for (const type of [RRType.A, RRType.AAAA, RRType.NS, RRType.SOA, RRType.TXT, RRType.ANY, RRType.MX]) {
      out.push(buildQuery(name, type, {rd: true, edns: false}))
      out.push(buildQuery(name, type, {rd: true, edns: {do: true, options: [Buffer.from([0, EdnsOption.NSID, 0, 0])]}}))
      out.push(buildQuery(name, type, {rd: false}))
    }
  }
  return out
}

const mailPing: Ping = {
  query: (id) => buildQuery('mail.example.test.', RRType.A, {id, rd: true}),
  check: (m: Message) => {
    const a = m.answers.map((r) => `${r.type} ${r.data}`).join(',')
    return m.rcode === 0 && a === `${RRType.A} 127.0.10.25` ? null : `rcode ${m.rcode}, answer ${a}`
  },
}

test('DNS-ISP survives 100,000 hostile packets while resolving through the lab, and still answers correctly', async () => {
  const seed = fuzzSeed()
  console.log(`    seed ${seed} (GLB_FUZZ_SEED=${seed} repeats this run)`)
  const tb = await startTestbed({net: NET})
  const errors: unknown[] = []
  const isp = new RecursiveHandler({
    resolver: {startServers: [tb.root], port: tb.port, source: ad.isp(1), queryTimeoutMs: 300, timeLimitMs: 2000},
    allow: ['127.0.0.0/8'],
  })
  const server = await startServer({listen: [{address: ad.isp(1), port: 0}], handler: isp, nsid: 'glb dns-isp', tcpSlowMs: 300, onError: (e) => errors.push(e)})
  try {
    const {udp, tcp} = fuzzPackets()
    const r = await fuzzServer({
      address: ad.isp(1), port: server.addresses[0]!.port, source: `127.${NET}.100.1`, seed, udpPackets: udp, tcpPackets: tcp,
      seeds: recursiveSeeds(), names: NAMES, ping: mailPing, tcpSlowMs: 300, settleMs: 2500, pingTimeoutMs: 4000,
    })
    console.log(summary('DNS-ISP', r))
    console.log(`    resolver stats ${JSON.stringify(isp.stats)}; cache ${isp.cacheSize} entries; upstream queries logged ${tb.total()}`)
    assert.equal(r.failures, [], r.failures.join('\n'))
    assert.equal([...new Set(errors.map(String))], [], `${errors.length} handler errors (bugs, answered SERVFAIL)`)
    assert.ok(r.sent.udp + r.sent.tcp >= udp + tcp)
  } finally {
    await server.close()
    await tb.stop()
  }
})

test.run()
