// Test helper for DNS-LB tests: a DnsLoadBalancer behind a real DNS server on a loopback address, queried over
// the wire, with its state built from a partial lb.json and its files in a temporary folder.
import type {ClientSubnet} from '../../../src/dns/wire/edns.js'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {buildQuery, exchange} from '../../../src/dns/client.js'
import {startServer} from '../../../src/dns/server.js'
import type {DnsServer} from '../../../src/dns/server.js'
import {EdnsOption} from '../../../src/dns/wire/constants.js'
import type {Message} from '../../../src/dns/wire/reader.js'
import {balancerStateSchema} from '../../../src/roles/balancer/balancer-state.js'
import type {BalancerState} from '../../../src/roles/balancer/balancer-state.js'
import {DnsLoadBalancer} from '../../../src/roles/balancer/dns-load-balancer.js'
import type {BalancerOptions} from '../../../src/roles/balancer/dns-load-balancer.js'

export const ZONE = 'www.glb.example.test.'

/** A temporary folder removed by `done()`. */
export function tempDir(): {dir: string; done(): void} {
  const dir = mkdtempSync(join(tmpdir(), 'glb-lb-test-'))
  return {dir, done: () => rmSync(dir, {recursive: true, force: true})}
}

/** A state from a partial lb.json (label lb1, zone www.glb.example.test. unless given). */
export function lbState(partial: Record<string, unknown>): BalancerState {
  return balancerStateSchema.parse({label: 'lb1', zone: ZONE, ...partial})
}

/** A running DNS-LB on `address` (port 0: a free one) and helpers to ask it. */
export interface RunningLb {
  lb: DnsLoadBalancer
  server: DnsServer
  port: number
  address: string
  /** Every answer change, with the time it happened (performance.now()). */
  changes: Array<{at: number; A: string[]; AAAA: string[]}>
  ask(name: string, type: number, o?: {source?: string; nsid?: boolean; ecs?: ClientSubnet}): Promise<Message>
  close(): Promise<void>
}

/** Builds, starts and serves a DNS-LB. `start: false` leaves probing off (answers from persisted state only). */
export async function startLb(o: {
  address: string
  /** DNS port (default 0: a free one); real resolvers ask referred servers on 53. */
  port?: number
  state: BalancerState
  stateFile: string
  start?: boolean
  registrationClient?: BalancerOptions['registrationClient']
  log?: (level: string, message: string) => void
  metrics?: BalancerOptions['metrics']
}): Promise<RunningLb> {
  const changes: RunningLb['changes'] = []
  const lb = await DnsLoadBalancer.create({
    state: o.state,
    stateFile: o.stateFile,
    listen: [`${o.address}:${o.port ?? 0}`],
    log: o.log ?? (() => {}),
    registrationClient: o.registrationClient,
    metrics: o.metrics,
    onAnswerChange: (a) => changes.push({at: performance.now(), A: a.A, AAAA: a.AAAA}),
  })
  let server: DnsServer
  try {
    server = await startServer({listen: [`${o.address}:${o.port ?? 0}`], handler: lb.handler, nsid: `glb dns-lb ${o.state.label}`, onError: () => {}})
  } catch (err) {
    await lb.close()
    throw err
  }
  if (o.start !== false) lb.start()
  const port = server.addresses[0]!.port
  return {
    lb, server, port, address: o.address, changes,
    async ask(name, type, q = {}) {
      const query = buildQuery(name, type, {edns: {ecs: q.ecs, options: q.nsid ? [Buffer.from([0, EdnsOption.NSID, 0, 0])] : []}})
      const r = await exchange(o.address, query, {port, source: q.source, timeoutMs: 2000})
      return r.message
    },
    async close() {
      await lb.close()
      await server.close()
    },
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** Polls `check` every 10 ms until it returns true or `ms` pass; returns the time it took, or null. */
export async function waitFor(check: () => boolean, ms: number): Promise<number | null> {
  const t0 = performance.now()
  while (performance.now() - t0 < ms) {
    if (check()) return performance.now() - t0
    await sleep(10)
  }
  return check() ? performance.now() - t0 : null
}
