// What a second core buys `glb serve lb`: one process on the server core versus `glb serve lb --workers 2`
// (node:cluster, one shared socket), worker 1 pinned to the server core and worker 2 to the core dnsperf also
// uses: the honest case of a 2-core machine whose load generator takes a core.
import {execFileSync} from 'node:child_process'
import {lbState, perRound, queryFile, startContent} from './compare-lb.js'
import {measureServer, type ServerRun} from './measure-server.js'
import {ancount, startGlb, waitAnswering, type Peer} from './peers.js'
import {fmt, median} from './report.js'
import type {BenchSettings} from './settings.js'

const PORT = 28353
const ONE = '127.0.67.1'
const TWO = '127.0.68.1'
/** The worker pids by rank, from the workers' --json "listening" lines. */
async function workerPids(p: Peer, count: number, timeoutMs = 30_000): Promise<number[]> {
  const until = Date.now() + timeoutMs
  while (Date.now() < until) {
    const pids = new Map<number, number>()
    for (const m of p.output().matchAll(/"worker":(\d+),"pid":(\d+)/g)) pids.set(Number(m[1]), Number(m[2]))
    if (pids.size === count) return [...pids.entries()].sort((a, b) => a[0] - b[0]).map(([, pid]) => pid)
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`glb serve lb --workers ${count} did not report its workers: ${p.output().slice(-300)}`)
}

/** Pins every thread of `pid` to `core` (no taskset: left unpinned). */
function pin(pid: number, core: number): void {
  try {
    execFileSync('taskset', ['-a', '-p', '-c', String(core), String(pid)], {stdio: 'ignore'})
  } catch {
    // no taskset
  }
}

export async function multiCore(s: BenchSettings): Promise<void> {
  const closeContent = await startContent()
  const peers: Peer[] = []
  try {
    const one = startGlb('glb serve lb, 1 process (core 1)', 'lb', lbState(s.dir, ONE, PORT), ONE, PORT, s.pinServer)
    peers.push(one)
    const two = startGlb('glb serve lb --workers 2 (cores 1 and 0)', 'lb', lbState(s.dir, TWO, PORT), TWO, PORT, [], ['--workers', '2'])
    peers.push(two)
    const workers = await workerPids(two, 2)
    workers.forEach((pid, k) => pin(pid, k === 0 ? 1 : 0))
    const pids = [two.pid, ...workers]
    await waitAnswering(one, (a) => ancount(a) === 1)
    await waitAnswering(two, (a) => ancount(a) === 1)
    await new Promise((r) => setTimeout(r, 2000))
    const cases: {peer: Peer; pids: number[]}[] = [{peer: one, pids: [one.pid]}, {peer: two, pids}]
    const runs = new Map<Peer, ServerRun[]>(cases.map((c) => [c.peer, []]))
    for (let round = 1; round <= s.rounds; round++) {
      for (const c of cases) {
        const r = await measureServer(c.peer, {file: queryFile(s), seconds: s.seconds, clients: s.clients, outstanding: s.outstanding, pin: s.pinLoad}, c.pids)
        runs.get(c.peer)!.push(r)
        console.log(`  round ${round} ${c.peer.name}: ${fmt.int(r.qps)} q/s, ${fmt.us(r.cpuUsPerQuery)} µs CPU/query, ${r.cores.toFixed(2)} cores`)
      }
    }
    s.report.table(
      `One address from two cores: glb serve lb --workers 2 (node:cluster shared UDP socket; Node 20 dgram has no reusePort), ${s.seconds} s x ${s.rounds} rounds (ABAB)`,
      ['server', 'q/s (median)', 'avg ms', 'CPU µs/query (all processes)', 'cores used by the server', 'RSS MiB (all)', 'vs 1 process'],
      cases.map((c) => {
        const rs = runs.get(c.peer)!
        const m = (f: (r: ServerRun) => number) => median(rs.map(f))
        return [c.peer.name, fmt.int(m((r) => r.qps)), fmt.ms(m((r) => r.avgMs)), fmt.us(m((r) => r.cpuUsPerQuery)), m((r) => r.cores).toFixed(2), fmt.mib(m((r) => r.rss)), fmt.ratio(perRound(rs, runs.get(one)!, (r) => r.qps))]
      }),
      ['dnsperf stays pinned to core 0, so the second worker competes with it for that core.'],
    )
  } finally {
    await Promise.all(peers.map((p) => p.stop()))
    await closeContent()
  }
}
