// A resolver that tries its second NS (BIND does once per new NS address; unbound at random until it has RTTs)
// must still get its own DNS-LB's choice: the second DNS-LB asks DNS-B where the resolver is referred, relays to
// that DNS-LB, and answers itself only when that one is silent. Real DNS-B, two DNS-LBs on one port, over the wire.
// glb-test-timeout: 60
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import dgram from 'node:dgram'
import {join} from 'node:path'
import {buildQuery, exchange} from '../../../src/dns/client.js'
import {RRType} from '../../../src/dns/wire/constants.js'
import {createMetrics} from '../../../src/observe/metrics.js'
import {register} from '../../../src/registration/index.js'
import {RELAYED_OPTION_CODE} from '../../../src/roles/balancer/second-ns-relay.js'
import {KEY, SECRET, runDnsB, type DnsBLab} from '../referral/dns-b-lab.js'
import {lbState, startLb, tempDir, ZONE, type RunningLb} from './balancer-fixture.js'

const B = '127.0.56.20'
const DEAD_B = '127.0.56.21' // listed first, takes queries and never answers: must not slow a lookup down
const LB1 = '127.0.56.1'
const LB2 = '127.0.56.2'
const ISP1 = '127.0.56.53' // referred to lb1 first, lb2 second
const ISP2 = '127.0.56.54' // referred to lb2 first, lb1 second
const SERVER1 = '127.0.56.11' // lb1's only server
const SERVER2 = '127.0.56.12' // lb2's only server
// The DNS-LBs share a port (resolvers reach every DNS-LB on one); a fixed one, on addresses no other test uses.
const PORT = 25_356
/** The relay's longest wait (second-ns-relay.ts default): for a DNS-B, and for a DNS-LB with no RTT known yet. */
const LONGEST_WAIT_MS = 300

let dnsb: DnsBLab
let deadB: dgram.Socket
let tmp: ReturnType<typeof tempDir>
const lbs: RunningLb[] = []
const logs: string[] = []
const lb1Metrics = createMetrics({processMetrics: false})

async function startPop(address: string, label: string, server: string): Promise<RunningLb> {
  const lb = await startLb({
    address, port: PORT, start: false, // no probing: a pool of one server is the answer from the first moment
    state: lbState({
      label, ttl: 3,
      pool: {servers: [{address: server}]},
      isp: {resolver: B, port: dnsb.port},
      dnsb: {addresses: [DEAD_B, B], port: dnsb.port, zone: 'glb.example.test.', key: {name: 'glb-lab.', algorithm: 'hmac-sha256', secret: SECRET}, lease: 300},
    }),
    stateFile: join(tmp.dir, `${label}.json`),
    log: (_l, m) => logs.push(`${label}: ${m}`),
    metrics: label === 'lb1' ? lb1Metrics : undefined,
  })
  lbs.push(lb)
  return lb
}

/** What `source` gets for the load-balanced name from the DNS-LB at `lb`, and how long it took. */
async function ask(lb: string, source: string, o: {relayed?: boolean} = {}): Promise<{addrs: string[]; ttl: number; ms: number}> {
  const options = o.relayed ? [Buffer.from([RELAYED_OPTION_CODE >> 8, RELAYED_OPTION_CODE & 0xff, 0, 0])] : []
  const started = performance.now()
  const r = await exchange(lb, buildQuery(ZONE, RRType.A, {edns: {options}}), {port: PORT, source, timeoutMs: 3000})
  const a = r.message.answers.filter((x) => x.type === RRType.A)
  return {addrs: a.map((x) => String(x.data)), ttl: a[0]?.ttl ?? -1, ms: performance.now() - started}
}

test.before(async () => {
  tmp = tempDir()
  dnsb = await runDnsB({
    zone: 'glb.example.test.', ns: [{name: 'b1.glb.example.test.', address: B}], names: ['www'],
    keys: [{name: 'glb-lab.', secret: SECRET}],
    // The DNS-LBs' lookups carry the resolver's address as ECS: honoured from them only.
    ecsFrom: [`${LB1}/32`, `${LB2}/32`],
  }, {address: B})
  deadB = dgram.createSocket('udp4')
  await new Promise<void>((resolve) => deadB.bind(dnsb.port, DEAD_B, resolve))
  for (const [isp, label, addr] of [[ISP1, 'lb1', LB1], [ISP2, 'lb2', LB2]] as const) {
    const [out] = await register({bs: [{address: B, port: dnsb.port}], zone: 'glb.example.test.', key: KEY, lb: {label, addrs: [addr]}, isp, ttl: 300, timeoutMs: 2000})
    if (!out?.ok) throw new Error(`registration of ${isp} -> ${label} failed: ${out?.message}`)
  }
  await startPop(LB1, 'lb1', SERVER1)
  await startPop(LB2, 'lb2', SERVER2)
})

test.after(async () => {
  await Promise.allSettled(lbs.map((l) => l.close()))
  await dnsb?.close()
  deadB?.close()
  tmp?.done()
})

test('DNS-B refers ISP 2 to lb2 first and lb1 second (the set-up the relay is for)', async () => {
  const r = await exchange(B, buildQuery('www.glb.example.test.', RRType.A, {rd: false}), {port: dnsb.port, source: ISP2})
  assert.equal(r.message.authorities.filter((x) => x.type === RRType.NS).map((x) => String(x.data)), [`lb2.${ZONE}`, `lb1.${ZONE}`])
})

test('a resolver asking its second NS gets its own DNS-LB\'s choice; its own resolver gets the local one', async () => {
  // The silent DNS-B's first QUERY from now (opcode 0: a registration UPDATE to it is not the relay's lookup).
  const deadAsked = new Promise<number>((resolve) => {
    const onQuery = (m: Buffer) => {
      if (m.length < 12 || ((m[2]! >> 3) & 0xf) !== 0) return
      deadB.off('message', onQuery)
      resolve(performance.now())
    }
    deadB.on('message', onQuery)
  })
  const first = await ask(LB1, ISP2)
  const answeredAt = performance.now()
  assert.equal(first.addrs, [SERVER2], 'ISP 2 at lb1 (its second NS) gets lb2\'s server')
  // DNS-Bs are asked at once, so the silent one (listed first) costs nothing. Asked one after the other, the
  // answer would come no sooner than the silent DNS-B's whole wait (300 ms) after it got its query; the bound
  // sits just under that, the loosest that still tells the two apart (an answer takes a few ms on an idle machine).
  const sinceDead = answeredAt - await deadAsked
  assert.ok(sinceDead < LONGEST_WAIT_MS - 10, `answered ${sinceDead.toFixed(0)} ms after the silent DNS-B was asked`)
  assert.equal((await ask(LB2, ISP1)).addrs, [SERVER1], 'ISP 1 at lb2 gets lb1\'s server')
  assert.equal((await ask(LB1, ISP1)).addrs, [SERVER1], 'ISP 1 at lb1 (its own) gets lb1\'s server')
  assert.equal((await ask(LB2, ISP2)).addrs, [SERVER2])
})

test('a relayed query is answered with the DNS-LB\'s own choice, never relayed again', async () => {
  assert.equal((await ask(LB1, ISP2, {relayed: true})).addrs, [SERVER1])
})

test('a relayed answer is kept with the TTL left: it never outlives the answer the other DNS-LB gave', async () => {
  await new Promise((r) => setTimeout(r, 3100)) // whatever lb1 kept of lb2's answer (TTL 3) has expired
  const fresh = await ask(LB1, ISP2)
  assert.equal([fresh.addrs, fresh.ttl], [[SERVER2], 3])
  await new Promise((r) => setTimeout(r, 1100))
  const kept = await ask(LB1, ISP2)
  assert.equal(kept.addrs, [SERVER2])
  assert.ok(kept.ttl >= 1 && kept.ttl <= 2, `TTL ${kept.ttl} 1.1 s after lb2 gave 3`)
})

test('when the resolver\'s own DNS-LB is silent, the second NS answers its own choice, after a few of its RTTs', async () => {
  await new Promise((r) => setTimeout(r, 3100)) // the relayed answer (TTL 3) expires
  const lb2 = lbs[1]!
  await lb2.close()
  // lb2's address now takes queries and never answers, as a frozen process would.
  const silent = dgram.createSocket('udp4')
  let relayed = 0
  silent.on('message', () => relayed++)
  await new Promise<void>((resolve) => silent.bind(PORT, LB2, resolve))
  try {
    const first = await ask(LB1, ISP2)
    assert.equal(first.addrs, [SERVER1], 'lb1 answers its own choice')
    // lb2 answered relays in about a millisecond before, so it is waited for SRTT + 4 RTTVAR (at least 50 ms),
    // not the 300 ms for a stranger. The wait chosen is in lb1's log line: read it there rather than infer it
    // from the wall clock, which a busy machine stretches. The answer cannot come before that wait is over.
    const line = logs.find((l) => l.startsWith('lb1: ') && l.includes(`DNS-LB ${LB2} did not answer`)) ?? ''
    const waited = Number(/did not answer within (\d+) ms/.exec(line)?.[1])
    assert.ok(waited >= 50 && waited < LONGEST_WAIT_MS, `lb2 waited for ${waited} ms (${line})`)
    assert.ok(first.ms >= waited - 1, `answered after ${first.ms.toFixed(0)} ms, before the ${waited} ms wait was over`)
    // Not waited for again: the held-back DNS-LB gets no second relay (a wait is a relay's timeout, so no relay,
    // no wait), counted at its socket rather than timed.
    const again = await ask(LB1, ISP2)
    assert.equal(again.addrs, [SERVER1])
    assert.is(relayed, 1, 'the silent DNS-LB is held back after one unanswered relay')
    assert.ok(logs.some((l) => l.startsWith('lb1: ') && l.includes(`DNS-LB ${LB2} did not answer`)), `logged once: ${logs.join(' | ')}`)
    assert.is(logs.filter((l) => l.includes(`DNS-LB ${LB2} did not answer`)).length, 1, 'logged once, not per query')
    const body = await lb1Metrics.registry.metrics()
    assert.match(body, /^second_ns_answers_total\{answer="own"\} 2$/m)
    assert.match(body, /^second_ns_answers_total\{answer="relayed"\} [1-9]\d*$/m)
  } finally {
    silent.close()
  }
})

test.run()
