// One dnsperf run against one server, with the server's CPU time per answered query and its RSS afterwards.
import {runDnsperf, type DnsperfOptions, type DnsperfResult} from './dnsperf.js'
import type {Peer} from './peers.js'
import {cpuSeconds, rssBytes} from './proc-stat.js'

export interface ServerRun extends DnsperfResult {
  /** Server CPU (user + system, all threads; every process of `pids`) over the run, per completed query. */
  cpuUsPerQuery: number
  /** The server's CPU use over the run, in cores (1.0 = one core busy all the time). */
  cores: number
  rss: number
}

/** Runs dnsperf against `peer`; `pids` (default the peer's) are the processes whose CPU is counted. */
export async function measureServer(peer: Peer, o: Omit<DnsperfOptions, 'server' | 'port'>, pids: number[] = [peer.pid]): Promise<ServerRun> {
  const cpu0 = pids.reduce((s, p) => s + cpuSeconds(p), 0)
  const t0 = performance.now()
  const r = await runDnsperf({...o, server: peer.address, port: peer.port})
  const wall = (performance.now() - t0) / 1000
  const cpu = pids.reduce((s, p) => s + cpuSeconds(p), 0) - cpu0
  if (!Number.isFinite(r.qps)) throw new Error(`dnsperf against ${peer.name} gave no figures: ${r.raw.trim().split('\n').slice(-3).join(' | ')}`)
  return {...r, cpuUsPerQuery: r.completed > 0 ? (cpu * 1e6) / r.completed : NaN, cores: cpu / wall, rss: pids.reduce((s, p) => s + rssBytes(p), 0)}
}
