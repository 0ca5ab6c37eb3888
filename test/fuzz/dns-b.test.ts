// Fuzz DNS-B (referrals, whoami, UPDATE with TSIG, AXFR) on the real server with hostile packets over UDP and TCP.
// glb-test-timeout: 240
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {buildQuery} from '../../src/dns/client.js'
import {sign} from '../../src/dns/tsig/tsig.js'
import {EdnsOption, RRType} from '../../src/dns/wire/constants.js'
import type {Message} from '../../src/dns/wire/reader.js'
import {addRecord, buildUpdate, deleteRRset} from '../../src/registration/update-builder.js'
import {bState, KEY, runDnsB, ZONE} from '../roles/referral/dns-b-lab.js'
import {fuzzServer, summary, type Ping} from './fuzz-harness.js'
import {fuzzPackets, fuzzSeed} from './fuzz-seed.js'

const NAMES = [ZONE, `www.${ZONE}`, `a.b.www.${ZONE}`, `x1.whoami.${ZONE}`, `whoami.${ZONE}`, `32.1.0.0.10.map.${ZONE}`, `lb1.lbs.${ZONE}`, `www._pool.${ZONE}`, `b1.${ZONE}`]

/** Queries, signed registrations and transfer requests DNS-B understands. */
function referralSeeds(): Buffer[] {
  const out: Buffer[] = []
  for (const name of NAMES) {
    for (const type of [RRType.A, RRType.AAAA, RRType.NS, RRType.SOA, RRType.TXT, RRType.ANY, RRType.DS, RRType.PTR]) {
      out.push(buildQuery(name, type, {edns: false}))
      out.push(buildQuery(name, type, {edns: {ecs: {family: 4, sourceLen: 24, scopeLen: 0, address: Buffer.from([10, 1, 2, 0])}, options: [Buffer.from([0, EdnsOption.NSID, 0, 0])]}}))
    }
  }
  out.push(buildQuery(ZONE, RRType.AXFR, {edns: false}), sign(buildQuery(ZONE, RRType.AXFR, {edns: false}), KEY).message)
  for (let i = 0; i < 20; i++) {
    const map = `32.${i}.2.0.10.map.${ZONE}`
    const upd = buildUpdate(ZONE, [deleteRRset(map, RRType.PTR), addRecord(map, 300, RRType.PTR, `lb1.lbs.${ZONE}`), addRecord(`lb1.lbs.${ZONE}`, 300, RRType.A, '127.0.1.1')])
    out.push(sign(upd, KEY).message, upd)
  }
  return out
}

const referralPing: Ping = {
  query: (id) => buildQuery(`www.${ZONE}`, RRType.A, {id, edns: false}),
  check: (m: Message) => {
    const ns = m.authorities.filter((r) => r.type === RRType.NS).map((r) => String(r.data))
    return m.rcode === 0 && ns[0] === `lb1.www.${ZONE}` ? null : `rcode ${m.rcode}, NS ${ns.join(',')}`
  },
}

test('DNS-B survives 100,000 hostile packets (UPDATE and AXFR shapes included) and still refers correctly', async () => {
  const seed = fuzzSeed()
  console.log(`    seed ${seed} (GLB_FUZZ_SEED=${seed} repeats this run)`)
  const errors: unknown[] = []
  const b = await runDnsB(bState({lbs: [{label: 'lb1', addrs: ['127.0.1.1']}], noMapping: {lb: 'lb1'}}), {address: '127.81.0.20'})
  // The lab helper's server swallows handler errors; run the same role behind one that records them.
  const {startServer} = await import('../../src/dns/server.js')
  const server = await startServer({listen: [{address: '127.81.0.21', port: 0}], handler: b.role.handler, opcodes: b.role.opcodes, nsid: 'glb dns-b', tcpSlowMs: 300, onError: (e) => errors.push(e)})
  try {
    const {udp, tcp} = fuzzPackets()
    const r = await fuzzServer({
      address: '127.81.0.21', port: server.addresses[0]!.port, source: '127.81.1.1', seed, udpPackets: udp, tcpPackets: tcp,
      seeds: referralSeeds(), names: NAMES, ping: referralPing, tcpSlowMs: 300, settleMs: 1000,
    })
    console.log(summary('DNS-B', r))
    const refused = b.updates.filter((u) => u.rcode !== 0).length
    console.log(`    UPDATEs seen ${b.updates.length} (${refused} refused); group commits ${b.role.commit.writes}; server stats ${JSON.stringify(server.stats)}`)
    assert.equal(r.failures, [], r.failures.join('\n'))
    assert.equal([...new Set(errors.map(String))], [], `${errors.length} handler errors (bugs, answered SERVFAIL)`)
    assert.ok(r.sent.udp + r.sent.tcp >= udp + tcp)
  } finally {
    await server.close()
    await b.close()
  }
})

test.run()
