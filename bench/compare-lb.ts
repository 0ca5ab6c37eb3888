// `glb serve lb` side by side with gdnsd (weighted plugin), PowerDNS (LUA record) and a naive dns-packet Node
// server: the same query, the same dnsperf settings, back to back (ABAB) for several rounds; then latency at
// half of glb's own rate.
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {startContentServers} from '../src/lab/content-server.js'
import {measureServer, type ServerRun} from './measure-server.js'
import {ancount, fillConfig, has, startGdnsd, startGlb, startNaive, startPdns, waitAnswering, type Peer} from './peers.js'
import {loadAverage} from './proc-stat.js'
import {fmt, median} from './report.js'
import type {BenchSettings} from './settings.js'

/** Where each server listens (all loopback; ports away from the lab's 53 and 5300). */
export const PORT = 28353
export const ADDR = {gdnsd: '127.0.60.1', pdns: '127.0.61.1', naive: '127.0.62.1', glb: '127.0.63.1'}
/** The content servers glb's DNS-LB probes (the addresses gdnsd and PowerDNS pick from). */
export const CONTENT = ['127.0.10.1', '127.0.10.2']
export const HTTP_PORT = 28354

export interface LbFigures {
  /** Medians over the rounds (NaN when the peer was skipped). */
  glbQps: number
  glbCpuUs: number
  gdnsdQps: number
  gdnsdCpuUs: number
}

/** Starts fixture content servers for glb's probes; returns their closer. */
export async function startContent(): Promise<() => Promise<void>> {
  const cs = await startContentServers({matrix: {defaultMs: 1, servers: {}}, addresses: CONTENT, ports: {http: HTTP_PORT, udp: null, dns: null}})
  return () => cs.close()
}

/** Writes a DNS-LB state file from bench/configs/lb.json. */
export function lbState(dir: string, address: string, port: number, probe: {interval: string; timeout: string; down: number} = {interval: '1s', timeout: '500ms', down: 3}): string {
  const file = join(dir, `lb-${address}.json`)
  fillConfig('lb.json', file, {ADDR: address, PORT: port, HTTP_PORT, INTERVAL: probe.interval, TIMEOUT: probe.timeout, DOWN: probe.down})
  return file
}

export async function compareLb(s: BenchSettings): Promise<LbFigures> {
  const spawned: Peer[] = []
  const skipped: string[] = []
  const closeContent = await startContent()
  try {
    // Every process started is in `spawned` at once, so a peer that fails to start is still stopped.
    const start = async (p: Peer, ready: (a: Buffer) => boolean): Promise<Peer> => {
      spawned.push(p)
      await waitAnswering(p, ready)
      return p
    }
    const starting: Promise<Peer>[] = []
    if (has('gdnsd')) starting.push(start(startGdnsd(join(s.dir, 'gdnsd'), ADDR.gdnsd, PORT, s.pinServer), (a) => ancount(a) >= 1))
    else skipped.push('SKIP gdnsd: not installed (Debian: apt-get install gdnsd)')
    // The DNS-LB answers once it has measured the pool: one address (select.count 1), like the others.
    starting.push(start(startGlb('glb serve lb', 'lb', lbState(s.dir, ADDR.glb, PORT), ADDR.glb, PORT, s.pinServer), (a) => ancount(a) === 1))
    if (has('pdns_server')) starting.push(start(startPdns(join(s.dir, 'pdns'), ADDR.pdns, PORT, s.pinServer), (a) => ancount(a) >= 1))
    else skipped.push('SKIP PowerDNS: pdns_server not installed (Debian: apt-get install pdns-server)')
    starting.push(start(startNaive(ADDR.naive, PORT, s.pinServer), (a) => ancount(a) >= 1))
    const peers: Peer[] = []
    for (const r of await Promise.allSettled(starting)) {
      if (r.status === 'fulfilled') peers.push(r.value)
      else skipped.push(`SKIP: ${(r.reason as Error).message}`)
    }
    for (const line of skipped) s.report.note(line)
    if (!peers.some((p) => p.name.startsWith('glb'))) throw new Error('glb serve lb did not start; see the SKIP line above')
    // Let start-up work (probing, JIT) settle before anything is timed.
    await new Promise((r) => setTimeout(r, 2000))

    const runs = new Map<string, ServerRun[]>(peers.map((p) => [p.name, []]))
    const loads: number[] = []
    for (let round = 1; round <= s.rounds; round++) {
      for (const p of peers) {
        loads.push(loadAverage())
        const r = await measureServer(p, {file: queryFile(s), seconds: s.seconds, clients: s.clients, outstanding: s.outstanding, pin: s.pinLoad})
        runs.get(p.name)!.push(r)
        console.log(`  round ${round} ${p.name}: ${fmt.int(r.qps)} q/s, ${fmt.us(r.cpuUsPerQuery)} µs CPU/query, lost ${r.lost}`)
      }
    }
    const med = (name: string, f: (r: ServerRun) => number) => median((runs.get(name) ?? []).map(f))
    const glb = 'glb serve lb'
    const glbQps = med(glb, (r) => r.qps)
    const rows = peers.map((p) => {
      const rs = runs.get(p.name)!
      const qps = med(p.name, (r) => r.qps)
      return [
        p.name,
        fmt.int(qps),
        `${fmt.int(Math.min(...rs.map((r) => r.qps)))}-${fmt.int(Math.max(...rs.map((r) => r.qps)))}`,
        fmt.ms(med(p.name, (r) => r.avgMs)),
        fmt.ms(Math.max(...rs.map((r) => r.maxMs)), 1),
        rs.reduce((n, r) => n + r.lost, 0),
        fmt.us(med(p.name, (r) => r.cpuUsPerQuery)),
        med(p.name, (r) => r.cores).toFixed(2),
        fmt.mib(med(p.name, (r) => r.rss)),
        p.name === glb ? '1' : fmt.ratio(perRound(runs.get(glb)!, rs, (r) => r.qps)),
        p.name === glb ? '1' : fmt.ratio(perRound(rs, runs.get(glb)!, (r) => r.cpuUsPerQuery)),
      ]
    })
    s.report.table(
      `Load-balanced name, max rate: www.glb.example.test. A, dnsperf -c ${s.clients} -q ${s.outstanding}, ${s.seconds} s x ${s.rounds} rounds (ABAB)`,
      ['server', 'q/s (median)', 'q/s range', 'avg ms', 'max ms', 'lost*', 'CPU µs/query', 'server cores busy', 'RSS MiB', 'glb/this q/s', 'this/glb CPU per query'],
      rows,
      [`Server pinned with \`${s.pinServer.join(' ') || '(no taskset)'}\`, dnsperf with \`${s.pinLoad.join(' ') || '(no taskset)'}\`. Load average during the runs: ${fmt.ms(Math.min(...loads), 2)}-${fmt.ms(Math.max(...loads), 2)}.`,
        'Ratios are the median of the per-round ratios (each round runs the servers back to back, minutes apart at most): they hold up better than a ratio of medians when other work on the machine comes and goes.',
        '*lost: dnsperf counts the queries still in flight when its time limit strikes as lost (up to -q per run); the latency table sends a fixed count and waits for every answer.'],
    )

    // Latency at half of glb's own maximum, for glb and the peers that can take that rate.
    const rate = Math.floor(glbQps / 2)
    const latPeers = peers.filter((p) => p.name !== 'PowerDNS' || med(p.name, (r) => r.qps) > rate)
    // Exactly rate x seconds queries, each waited for: every timeout is a real loss (a time limit would count
    // the queries still in flight when it strikes as lost).
    const fixedFile = queryFile(s, rate * s.seconds)
    const lat = new Map<string, ServerRun[]>(latPeers.map((p) => [p.name, []]))
    for (let round = 1; round <= s.rounds; round++) {
      for (const p of latPeers) {
        const r = await measureServer(p, {file: fixedFile, once: true, seconds: s.seconds * 2 + 5, clients: s.clients, outstanding: s.outstanding, maxQps: rate, verbose: true, pin: s.pinLoad})
        lat.get(p.name)!.push(r)
        console.log(`  round ${round} ${p.name} at ${rate} q/s: p99 ${fmt.ms(r.p99Ms)} ms, lost ${r.lost}`)
      }
    }
    s.report.table(
      `Latency at ${fmt.int(rate)} q/s (half of glb's median maximum), dnsperf -Q ${rate} -v, ${s.seconds} s x ${s.rounds} rounds`,
      ['server', 'q/s', 'p50 ms', 'p99 ms (median of rounds)', 'p99 ms (worst round)', 'max ms', 'lost', 'CPU µs/query'],
      latPeers.map((p) => {
        const rs = lat.get(p.name)!
        const m = (f: (r: ServerRun) => number) => median(rs.map(f))
        return [p.name, fmt.int(m((r) => r.qps)), fmt.ms(m((r) => r.p50Ms)), fmt.ms(m((r) => r.p99Ms)), fmt.ms(Math.max(...rs.map((r) => r.p99Ms))),
          fmt.ms(Math.max(...rs.map((r) => r.maxMs)), 1), rs.reduce((n, r) => n + r.lost, 0), fmt.us(m((r) => r.cpuUsPerQuery))]
      }),
    )
    return {glbQps, glbCpuUs: med(glb, (r) => r.cpuUsPerQuery), gdnsdQps: med('gdnsd', (r) => r.qps), gdnsdCpuUs: med('gdnsd', (r) => r.cpuUsPerQuery)}
  } finally {
    await Promise.all(spawned.map((p) => p.stop()))
    await closeContent()
  }
}

/** The query file every server is asked from: `lines` times www.glb.example.test. A. */
export function queryFile(s: BenchSettings, lines = 1): string {
  const file = join(s.dir, `www-a-${lines}.txt`)
  writeFileSync(file, 'www.glb.example.test. A\n'.repeat(lines))
  return file
}

/** The median over rounds of f(a[round]) / f(b[round]). */
export function perRound(a: ServerRun[], b: ServerRun[], f: (r: ServerRun) => number): number {
  return median(a.map((r, i) => (b[i] ? f(r) / f(b[i]!) : NaN)))
}
