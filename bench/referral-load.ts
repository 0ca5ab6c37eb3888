// `glb serve b` with 1,000,000 registered resolver addresses: start-up (loading the mappings file), RSS with 0 and
// with N mappings, and referral rate with every query from a different registered resolver (an ECS option per
// query, dnsperf -B wire-format input), back to back with `glb serve lb` on the same machine.
import {createWriteStream, readFileSync, statSync, writeFileSync} from 'node:fs'
import {basename, join} from 'node:path'
import {once} from 'node:events'
import {lbState, perRound, startContent, queryFile} from './compare-lb.js'
import {measureServer, type ServerRun} from './measure-server.js'
import {ask, fillConfig, startGlb, waitAnswering, wireQuery, type Peer} from './peers.js'
import {rssBytes} from './proc-stat.js'
import {fmt, median} from './report.js'
import type {BenchSettings} from './settings.js'

const B_ADDR = '127.0.64.1'
const B2_ADDR = '127.0.69.1'
const LB_ADDR = '127.0.63.1'
const PORT = 28353
const LBS = 16

/** The i-th registered resolver: (i+1) x an odd constant is a bijection of the 32-bit space, so none repeats. */
export const resolverAddress = (i: number): number => Math.imul(i + 1, 0x9e3779b1) >>> 0
const dotted = (a: number) => `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`

/** Writes b.json (16 DNS-LBs from the state, so always alive) and, for n > 0, its mappings file. */
export async function writeDnsB(dir: string, n: number): Promise<{state: string; data: string; unlimited: string}> {
  const lbs = Array.from({length: LBS}, (_, k) => ({label: `lb${k + 1}`, addrs: [`127.0.70.${k + 1}`]}))
  const state = join(dir, `b-${n}.json`)
  // The default response rate limit (loopback exempt, as dnsperf's queries are), and a twin without it that
  // reads the same mappings: the difference is the limiter's per-query cost.
  fillConfig('b.json', state, {ADDR: B_ADDR, PORT, LBS: JSON.stringify(lbs), RATE_LIMIT: '{"exempt": ["127.0.0.0/8", "::1/128"]}'})
  const data = state.replace(/\.json$/, '.mappings.json')
  const unlimited = join(dir, `b-${n}-no-rrl.json`)
  fillConfig('b.json', unlimited, {ADDR: B2_ADDR, PORT, LBS: JSON.stringify(lbs), RATE_LIMIT: 'false'})
  const text = readFileSync(unlimited, 'utf8').replace('"rateLimit": false', `"rateLimit": false,\n  "mappings": ${JSON.stringify(basename(data))}`)
  writeFileSync(unlimited, text)
  if (n === 0) return {state, data, unlimited}
  const expires = Math.floor(Date.now() / 1000) + 30 * 86400
  const out = createWriteStream(data)
  const mappingLbs = lbs.map((l) => ({name: `${l.label}.lbs.glb.example.test.`, addrs: l.addrs}))
  out.write(`{"format":"glb-registrations/1","serial":1,"lbs":[],"measurements":[],"mapping":{"format":"glb-mapping/1","lbs":${JSON.stringify(mappingLbs)},"entries":[`)
  let chunk = ''
  for (let i = 0; i < n; i++) {
    chunk += `${i ? ',' : ''}["${dotted(resolverAddress(i))}/32",${i % LBS},${expires}]`
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await once(out, 'drain')
      chunk = ''
    }
  }
  out.end(chunk + ']}}')
  await once(out, 'finish')
  return {state, data, unlimited}
}

/** www.glb.example.test. A from resolver i: an OPT with ECS <address>/32 (the address is the last 4 octets). */
function ecsQuery(i: number): Buffer {
  const base = wireQuery('www.glb.example.test.', 1, 0)
  base.writeUInt16BE(1, 10) // ARCOUNT: the OPT record
  // OPT: root owner, type 41, UDP size 1232, TTL 0, RDLENGTH 12 = ECS option (code 8, length 8: family 1, /32).
  const opt = Buffer.from([0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 12, 0, 8, 0, 8, 0, 1, 32, 0, 0, 0, 0, 0])
  const q = Buffer.concat([base, opt])
  q.writeUInt32BE(resolverAddress(i), q.length - 4)
  return q
}

/** One query per registered resolver, as dnsperf -B input (each message preceded by its 2-octet length). */
export async function writeEcsQueries(file: string, n: number): Promise<void> {
  const q = ecsQuery(0)
  const msg = Buffer.concat([Buffer.from([0, q.length]), q])
  const at = msg.length - 4
  const out = createWriteStream(file)
  const block = Buffer.allocUnsafe(msg.length * 16384)
  for (let i = 0; i < n;) {
    let len = 0
    for (; len < block.length && i < n; i++, len += msg.length) {
      msg.writeUInt32BE(resolverAddress(i), at)
      msg.copy(block, len)
    }
    if (!out.write(Buffer.from(block.subarray(0, len)))) await once(out, 'drain')
  }
  out.end()
  await once(out, 'finish')
}

/** Starts `glb serve b` and waits for its first answer; returns the peer and the seconds that took. */
async function startDnsB(s: BenchSettings, state: string, name: string, address = B_ADDR): Promise<{peer: Peer; startS: number}> {
  const t0 = performance.now()
  const peer = startGlb(name, 'b', state, address, PORT, s.pinServer)
  try {
    await waitAnswering(peer, (a) => a.length > 12 && a.readUInt16BE(8) > 0, 60_000) // a referral: NS in authority
  } catch (err) {
    await peer.stop()
    throw err
  }
  return {peer, startS: (performance.now() - t0) / 1000}
}

/** RSS once start-up garbage has been collected (V8 shrinks lazily: wait, then take the lowest of a few reads). */
async function settledRss(pid: number): Promise<number> {
  let low = Infinity
  for (let i = 0; i < 6; i++) {
    await new Promise((r) => setTimeout(r, 500))
    low = Math.min(low, rssBytes(pid))
  }
  return low
}

export async function referralLoad(s: BenchSettings, n: number, lbQps: number): Promise<void> {
  const empty = await writeDnsB(s.dir, 0)
  const full = await writeDnsB(s.dir, n)
  const ecsFile = join(s.dir, 'ecs-queries.bin')
  await writeEcsQueries(ecsFile, n)

  // Start-up and memory: 0 mappings, then n, each started twice (the better start-up time of the two).
  const starts: {n: number; startS: number[]; rss: number[]}[] = [{n: 0, startS: [], rss: []}, {n, startS: [], rss: []}]
  for (let round = 0; round < 2; round++) {
    for (const row of starts) {
      const {peer, startS} = await startDnsB(s, row.n ? full.state : empty.state, `glb serve b (${row.n} mappings)`)
      try {
        row.startS.push(startS)
        row.rss.push(await settledRss(peer.pid))
      } finally {
        await peer.stop()
      }
    }
  }
  const [zero, many] = starts as [typeof starts[0], typeof starts[0]]
  const load = Math.min(...many.startS) - Math.min(...zero.startS)
  const perMapping = (median(many.rss) - median(zero.rss)) / n
  s.report.table(
    `glb serve b start-up and memory with ${fmt.int(n)} mappings (IPv4 /32, ${LBS} DNS-LBs; mappings file ${fmt.mib(statSync(full.data).size)} MiB)`,
    ['mappings', 'start to first answer s (best of 2)', 'RSS MiB (median)', 'bytes per mapping'],
    [
      [0, fmt.ms(Math.min(...zero.startS), 2), fmt.mib(median(zero.rss)), '-'],
      [fmt.int(n), fmt.ms(Math.min(...many.startS), 2), fmt.mib(median(many.rss)), fmt.int(perMapping)],
    ],
    [`Loading the mappings costs ${fmt.ms(load, 2)} s over an empty start (target < 5 s); RSS grows ${fmt.int(perMapping)} bytes per mapping (target < 200).`],
  )

  // Referral rate: B (every query a different registered resolver by ECS; and plain, one unmapped resolver)
  // back to back with a DNS-LB, same dnsperf settings.
  const closeContent = await startContent()
  const peers: Peer[] = []
  try {
    const b = await startDnsB(s, full.state, 'glb serve b')
    peers.push(b.peer)
    const b2 = await startDnsB(s, full.unlimited, 'glb serve b (rateLimit false)', B2_ADDR)
    peers.push(b2.peer)
    const lb = startGlb('glb serve lb', 'lb', lbState(s.dir, LB_ADDR, PORT), LB_ADDR, PORT, s.pinServer)
    peers.push(lb)
    await waitAnswering(lb, (a) => a.readUInt16BE(6) === 1)
    // Resolver i is mapped to lb(i % 16 + 1): its referral must name that DNS-LB first, or nothing is measured.
    for (const i of [0, 1, n - 1]) {
      const a = await ask(B_ADDR, PORT, ecsQuery(i), 2000)
      const label = `lb${(i % LBS) + 1}`
      const want = Buffer.from(String.fromCharCode(label.length) + label, 'latin1') // the NS name's first label
      if (!a || !a.includes(want)) throw new Error(`glb serve b did not refer resolver ${dotted(resolverAddress(i))} to lb${(i % LBS) + 1}`)
    }
    await new Promise((r) => setTimeout(r, 2000))
    const cases: {name: string; peer: Peer; file: string; binary: boolean}[] = [
      {name: `glb serve b, ECS from ${fmt.int(n)} registered resolvers`, peer: b.peer, file: ecsFile, binary: true},
      {name: `glb serve b, rateLimit false, ECS from ${fmt.int(n)} registered resolvers`, peer: b2.peer, file: ecsFile, binary: true},
      {name: 'glb serve b, no ECS (one unmapped resolver)', peer: b.peer, file: queryFile(s), binary: false},
      {name: 'glb serve lb (same run)', peer: lb, file: queryFile(s), binary: false},
    ]
    const runs = new Map<string, ServerRun[]>(cases.map((c) => [c.name, []]))
    for (let round = 1; round <= s.rounds; round++) {
      for (const c of cases) {
        const r = await measureServer(c.peer, {file: c.file, binary: c.binary, seconds: s.seconds, clients: s.clients, outstanding: s.outstanding, pin: s.pinLoad})
        runs.get(c.name)!.push(r)
        console.log(`  round ${round} ${c.name}: ${fmt.int(r.qps)} q/s, ${fmt.us(r.cpuUsPerQuery)} µs CPU/query, ${r.rcodes}`)
      }
    }
    const lbNow = median(runs.get(cases.at(-1)!.name)!.map((r) => r.qps))
    s.report.table(
      `Referrals from ${fmt.int(n)} distinct registered resolvers (dnsperf -B, one ECS /32 per query), ${s.seconds} s x ${s.rounds} rounds (ABAB)`,
      ['server / queries', 'q/s (median)', 'avg ms', 'CPU µs/query', 'server cores busy', 'RSS MiB', 'rcodes (last round)', 'q/s vs DNS-LB', 'CPU per query: DNS-LB / this'],
      cases.map((c) => {
        const rs = runs.get(c.name)!
        const m = (f: (r: ServerRun) => number) => median(rs.map(f))
        const lbRuns = runs.get(cases.at(-1)!.name)!
        return [c.name, fmt.int(m((r) => r.qps)), fmt.ms(m((r) => r.avgMs)), fmt.us(m((r) => r.cpuUsPerQuery)), m((r) => r.cores).toFixed(2), fmt.mib(m((r) => r.rss)),
          rs.at(-1)!.rcodes, fmt.ratio(perRound(rs, lbRuns, (r) => r.qps)), fmt.ratio(perRound(lbRuns, rs, (r) => r.cpuUsPerQuery))]
      }),
      ['Ratios: median of per-round ratios. When the servers are not saturated (cores busy < 1: the load generator or other work on the machine limits the rate), the CPU ratio is the better guide to capacity.',
        `Target: at least 0.8x the DNS-LB's rate (the DNS-LB did ${fmt.int(lbNow)} q/s in this section${Number.isFinite(lbQps) ? `, ${fmt.int(lbQps)} in the side-by-side table` : ''}).`],
    )
  } finally {
    await Promise.all(peers.map((p) => p.stop()))
    await closeContent()
  }
}
