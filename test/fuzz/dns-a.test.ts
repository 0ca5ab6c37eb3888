// Fuzz DNS-A (AuthorityHandler on the real server, and `glb serve a`) with hostile packets over UDP and TCP.
// glb-test-timeout: 240
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {readFileSync} from 'node:fs'
import {buildQuery} from '../../src/dns/client.js'
import {EdnsOption, Rcode, RRType} from '../../src/dns/wire/constants.js'
import type {Message} from '../../src/dns/wire/reader.js'
import {spawnGlb} from '../helpers/cli.js'
import {freePort, runAuthorityServer} from '../helpers/servers.js'
import {fuzzServer, summary, type Ping} from './fuzz-harness.js'
import {fuzzPackets, fuzzSeed} from './fuzz-seed.js'

const state = JSON.parse(readFileSync(new URL('../../fixtures/a.json', import.meta.url), 'utf8')) as Record<string, unknown>
const NAMES = ['example.test.', 'www.example.test.', 'mail.example.test.', 'glb.example.test.', 'www._pool.example.test.', 'x.glb.example.test.', 'nx.example.test.']

/** Queries DNS-A understands: every name and common type, with and without EDNS, ECS, NSID, DO. */
export function authoritySeeds(): Buffer[] {
  const out: Buffer[] = []
  for (const name of NAMES) {
    for (const type of [RRType.A, RRType.AAAA, RRType.NS, RRType.SOA, RRType.TXT, RRType.MX, RRType.ANY, RRType.CNAME]) {
      out.push(buildQuery(name, type, {edns: false}))
      out.push(buildQuery(name, type, {edns: {do: true, options: [Buffer.from([0, EdnsOption.NSID, 0, 0])]}}))
      out.push(buildQuery(name, type, {rd: true, edns: {udpSize: 512, ecs: {family: 4, sourceLen: 24, scopeLen: 0, address: Buffer.from([10, 1, 2, 0])}}}))
    }
  }
  return out
}

export const mailPing: Ping = {
  query: (id) => buildQuery('mail.example.test.', RRType.A, {id}),
  check: (m: Message) => {
    const a = m.answers.map((r) => `${r.type} ${r.data}`).join(',')
    return m.rcode === Rcode.NOERROR && a === `${RRType.A} 127.0.10.25` ? null : `rcode ${m.rcode}, answer ${a}`
  },
}

test('DNS-A survives 100,000 hostile packets over UDP and TCP and answers a valid query correctly afterwards', async () => {
  const seed = fuzzSeed()
  console.log(`    seed ${seed} (GLB_FUZZ_SEED=${seed} repeats this run)`)
  const errors: unknown[] = []
  const a = await runAuthorityServer(state, {address: '127.80.0.10', tcpSlowMs: 300, onError: (e) => errors.push(e)})
  try {
    const rssBefore = process.memoryUsage().rss
    const {udp, tcp} = fuzzPackets()
    const r = await fuzzServer({
      address: a.address, port: a.port, source: '127.80.1.1', seed, udpPackets: udp, tcpPackets: tcp,
      seeds: authoritySeeds(), names: NAMES, ping: mailPing, tcpSlowMs: 300,
    })
    console.log(summary('DNS-A', r))
    console.log(`    RSS ${(rssBefore / 2 ** 20).toFixed(0)} -> ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB; server stats ${JSON.stringify(a.server.stats)}`)
    assert.equal(r.failures, [], r.failures.join('\n'))
    assert.equal([...new Set(errors.map(String))], [], `${errors.length} handler errors (bugs, answered SERVFAIL)`)
    assert.ok(r.sent.udp + r.sent.tcp >= udp + tcp, `every packet went out (${r.sent.udp + r.sent.tcp})`)
    assert.ok(r.ms < 90_000, `took ${r.ms} ms`)
  } finally {
    await a.close()
  }
})

test('`glb serve a` as a process: 20,000 hostile packets, and it is still running and answering', async () => {
  const seed = fuzzSeed() ^ 0x5a5a
  const port = await freePort('127.80.0.11')
  const p = spawnGlb(['serve', 'a', '--state', new URL('../../fixtures/a.json', import.meta.url).pathname, '--listen', `127.80.0.11:${port}`])
  try {
    await p.waitFor(/listening on/, 30_000)
    // The CLI keeps the default 5 s slow-sender bound: connections ending in a partial frame take that long.
    const r = await fuzzServer({
      address: '127.80.0.11', port, source: '127.80.1.2', seed, udpPackets: 17_000, tcpPackets: 3000,
      seeds: authoritySeeds(), names: NAMES, ping: mailPing, tcpSlowMs: 5000,
    })
    console.log(summary('glb serve a', r))
    assert.equal(r.failures, [], r.failures.join('\n'))
    assert.is(p.child.exitCode, null, `still running (stderr: ${p.stderr().slice(-300)})`)
    assert.not.match(p.stderr(), /handler error/, 'no handler error logged')
  } finally {
    await p.stop()
  }
})

test.run()
