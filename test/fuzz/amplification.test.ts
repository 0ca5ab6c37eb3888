// No amplification: over UDP every role's answer fits max(512, the query's EDNS size up to 1232), ANY gets one
// RRset (RFC 8482), and `glb serve b` rate-limits referral and whoami answers per client prefix (on by default).
// glb-test-timeout: 120
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import dgram from 'node:dgram'
import {readFileSync, rmSync, writeFileSync, mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {buildQuery, exchange} from '../../src/dns/client.js'
import {startServer, type DnsServer} from '../../src/dns/server.js'
import {Flag, RRType} from '../../src/dns/wire/constants.js'
import {readMessage} from '../../src/dns/wire/reader.js'
import {RecursiveHandler} from '../../src/roles/recursive/recursive-handler.js'
import {spawnGlb} from '../helpers/cli.js'
import {freePort, runAuthorityServer} from '../helpers/servers.js'
import {lbState, startLb, tempDir} from '../roles/balancer/balancer-fixture.js'
import {bState, runDnsB, ZONE} from '../roles/referral/dns-b-lab.js'
import {labAddresses, startTestbed} from '../resolver/gslb-testbed.js'

const NET = 93
const ad = labAddresses(NET)
const TYPES = [RRType.A, RRType.AAAA, RRType.NS, RRType.SOA, RRType.TXT, RRType.MX, RRType.ANY, RRType.DS, RRType.PTR]
const EDNS = [false, 512, 1232, 4096] as const

interface Figures { queries: number; maxRatio: number; worst: string; maxNoEdns: number }

/** Asks every name x type x EDNS size; checks the size bound and ANY's single RRset; returns the figures. */
async function sweep(role: string, address: string, port: number, names: string[], rd = false): Promise<Figures> {
  const f: Figures = {queries: 0, maxRatio: 0, worst: '', maxNoEdns: 0}
  for (const name of names) {
    for (const type of TYPES) {
      for (const edns of EDNS) {
        const q = buildQuery(name, type, {rd, edns: edns === false ? false : {udpSize: edns, do: true}})
        const r = await exchange(address, q, {port, tcpFallback: false, timeoutMs: 3000})
        f.queries++
        const limit = edns === false ? 512 : Math.min(Math.max(edns, 512), 1232)
        assert.ok(r.response.length <= limit, `${role} ${name} ${type} edns ${edns}: ${r.response.length} octets > ${limit}`)
        const ratio = r.response.length / q.length
        if (ratio > f.maxRatio) { f.maxRatio = ratio; f.worst = `${name} ${type} edns ${edns}: ${q.length} -> ${r.response.length}` }
        if (edns === false) f.maxNoEdns = Math.max(f.maxNoEdns, r.response.length)
        if (type === RRType.ANY && !(r.message.header.flags & Flag.TC)) {
          const sets = new Set(r.message.answers.filter((a) => a.name === name).map((a) => a.type))
          assert.ok(sets.size <= 1, `${role} ANY ${name}: ${sets.size} RRsets (${[...sets].join(',')}); RFC 8482 asks for one`)
        }
      }
    }
  }
  console.log(`    ${role}: ${f.queries} queries; largest answer without EDNS ${f.maxNoEdns} octets; largest ratio ${f.maxRatio.toFixed(1)}x (${f.worst})`)
  return f
}

test('every role: UDP answers within max(512, EDNS size), ANY minimal, answer/query ratio bounded', async () => {
  const a = await runAuthorityServer(JSON.parse(readFileSync(new URL('../../fixtures/a.json', import.meta.url), 'utf8')), {address: ad.a})
  const b = await runDnsB(bState({lbs: [{label: 'lb1', addrs: ['127.0.1.1']}, {label: 'lb2', addrs: ['127.0.2.1']}]}), {address: ad.b})
  const tmp = tempDir()
  const lb = await startLb({address: ad.lb(1), state: lbState({pool: {servers: Array.from({length: 8}, (_, i) => ({address: `127.${NET}.10.${i + 1}`}))}, select: {count: 8}}), stateFile: join(tmp.dir, 'lb1.json'), start: false})
  const tb = await startTestbed({net: NET + 1})
  const isp = new RecursiveHandler({resolver: {startServers: [tb.root], port: tb.port, source: `127.${NET + 1}.1.53`, queryTimeoutMs: 300, timeLimitMs: 2000}, allow: ['127.0.0.0/8']})
  let ispServer: DnsServer | undefined
  try {
    ispServer = await startServer({listen: [{address: `127.${NET + 1}.1.53`, port: 0}], handler: isp, onError: () => {}})
    const figures = [
      await sweep('DNS-A', a.address, a.port, ['example.test.', 'www.example.test.', 'mail.example.test.', 'www._pool.example.test.', 'glb.example.test.', 'x.glb.example.test.', 'nx.example.test.']),
      await sweep('DNS-B', b.address, b.port, [ZONE, `www.${ZONE}`, `a.www.${ZONE}`, `x.whoami.${ZONE}`, `b1.${ZONE}`, `nx.${ZONE}`]),
      await sweep('DNS-LB', lb.address, lb.port, ['www.glb.example.test.', 'lb1.www.glb.example.test.', 'nx.www.glb.example.test.']),
      await sweep('DNS-ISP', `127.${NET + 1}.1.53`, ispServer.addresses[0]!.port, ['www.example.test.', 'mail.example.test.', 'big.example.test.', 'nx.example.test.'], true),
    ]
    // The largest reflection a small query buys: an 8-server DNS-LB answer or a referral with glue, ~3-6x.
    for (const f of figures) assert.ok(f.maxRatio <= 10, `ratio ${f.maxRatio.toFixed(1)} (${f.worst})`)
  } finally {
    await ispServer?.close()
    await tb.stop()
    await lb.close()
    tmp.done()
    await b.close()
    await a.close()
  }
})

/** Sends `n` queries for `name` from `source` at once; counts full answers, truncated ones and silence. */
async function burst(address: string, port: number, source: string, name: string, n: number, type: number = RRType.A): Promise<{full: number; tc: number; none: number}> {
  const s = dgram.createSocket('udp4')
  const out = {full: 0, tc: 0, none: n}
  s.on('message', (m) => {
    out.none--
    if (readMessage(m).header.flags & Flag.TC) out.tc++
    else out.full++
  })
  await new Promise<void>((r) => s.bind(0, source, () => r()))
  for (let i = 0; i < n; i++) s.send(buildQuery(name, type, {id: i, edns: false}), port, address)
  await new Promise((r) => setTimeout(r, 400))
  await new Promise<void>((r) => s.close(() => r()))
  return out
}

test('glb serve b: referral and whoami answers are rate-limited per /24 with slips; the zone\'s own records and loopback (by default) are not', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'glb-rrl-'))
  const address = `127.${NET}.0.21`
  const port = await freePort(address)
  const file = join(dir, 'b.json')
  writeFileSync(file, JSON.stringify(bState({lbs: [{label: 'lb1', addrs: ['127.0.1.1']}], rateLimit: {responsesPerSecond: 5, exempt: []}})))
  const p = spawnGlb(['serve', 'b', '--state', file, '--listen', `${address}:${port}`])
  try {
    await p.waitFor(/listening on/, 30_000)
    const referral = await burst(address, port, `127.${NET}.50.1`, `www.${ZONE}`, 20)
    const whoami = await burst(address, port, `127.${NET}.51.1`, `x.whoami.${ZONE}`, 20)
    const soa = await burst(address, port, `127.${NET}.52.1`, ZONE, 20, RRType.SOA)
    console.log(`    20 at once, 5/s allowed: referral ${JSON.stringify(referral)}, whoami ${JSON.stringify(whoami)}, SOA ${JSON.stringify(soa)}`)
    for (const r of [referral, whoami]) {
      assert.ok(r.full >= 5 && r.full <= 6, `about 5 full answers: ${JSON.stringify(r)}`)
      assert.ok(r.tc >= 6 && r.tc <= 8, `every 2nd answer over the limit slips: ${JSON.stringify(r)}`)
    }
    assert.is(soa.full, 20, 'the zone\'s own records are not limited')
    const tcp = await exchange(address, buildQuery(`www.${ZONE}`, RRType.A), {port, source: `127.${NET}.50.1`, transport: 'tcp'})
    assert.is(tcp.message.authorities.length, 1, 'over TCP the limited client gets its referral')
  } finally {
    await p.stop()
  }
  // The default: on, with loopback exempt (a forged source cannot be 127/8 from off the host).
  writeFileSync(file, JSON.stringify(bState({lbs: [{label: 'lb1', addrs: ['127.0.1.1']}]})))
  const q = spawnGlb(['serve', 'b', '--state', file, '--listen', `${address}:${port}`])
  try {
    await q.waitFor(/listening on/, 30_000)
    const r = await burst(address, port, `127.${NET}.50.1`, `www.${ZONE}`, 150)
    assert.is(r.full, 150, JSON.stringify(r))
  } finally {
    await q.stop()
    rmSync(dir, {recursive: true, force: true})
  }
})

test.run()
