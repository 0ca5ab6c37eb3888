// Reads a content-server pool that DNS-A publishes at `P._pool.<zone>` (ARCHITECTURE.md "Pools"): polls the
// zone's SOA serial on a short refresh and refetches the TXT and A/AAAA records when it changes.
import {isIP} from 'node:net'
import {buildQuery, exchange} from '../../dns/client.js'
import {Rcode, RRType} from '../../dns/wire/constants.js'
import type {Message} from '../../dns/wire/reader.js'
import {normalizeAddress} from '../../state/fields.js'
import type {PoolFromDns, PoolServer} from './balancer-state.js'
import type {ProblemLog} from './problem-log.js'

/** A published pool: the load-balanced name it is for and its servers. */
export interface PublishedPool {
  name: string | null
  servers: PoolServer[]
}

// A publisher that edits the pool but forgets the serial still gets read: refetch at least this often.
const REFETCH_EVERY_POLLS = 12

/**
 * Parses the pool's records: TXT strings `name=<lb name>` and `"<address> weight=W cost=C[ capacity=N]"`,
 * and A/AAAA addresses (a server only in A/AAAA gets weight 1, cost 0). Throws one line on a bad string.
 */
export function parsePublishedPool(txt: string[], addresses: string[]): PublishedPool {
  let name: string | null = null
  const byAddress = new Map<string, PoolServer>()
  for (const s of txt) {
    const fields = s.trim().split(/\s+/)
    if (fields[0]?.startsWith('name=')) {
      name = fields[0].slice(5).toLowerCase()
      if (!name.endsWith('.')) name += '.'
      continue
    }
    const address = normalizeAddress(fields[0] ?? '')
    if (address === null) throw new Error(`pool TXT string "${s}": expected "<address> weight=W cost=C"`)
    const server: PoolServer = {address, weight: 1, cost: 0}
    for (const f of fields.slice(1)) {
      const m = /^(weight|cost|capacity)=(\d+(?:\.\d+)?)$/.exec(f)
      if (!m) continue // unknown attributes are for newer readers
      const v = Number(m[2])
      if (m[1] === 'weight' && v > 0) server.weight = v
      else if (m[1] === 'cost') server.cost = v
      else if (m[1] === 'capacity' && v > 0) server.capacity = v
    }
    byAddress.set(address, server)
  }
  for (const a of addresses) {
    const address = normalizeAddress(a)
    if (address && !byAddress.has(address)) byAddress.set(address, {address, weight: 1, cost: 0})
  }
  return {name, servers: [...byAddress.values()]}
}

/** The zone a pool owner lives in: the part after `_pool.`. */
export function poolZone(owner: string): string {
  const i = owner.indexOf('._pool.')
  return i < 0 ? owner : owner.slice(i + '._pool.'.length)
}

/** Polls a published pool and calls `onPool` with each new version (the first one included). */
export class DnsPoolWatcher {
  private timer: NodeJS.Timeout | undefined
  private serial: number | null = null
  private pollsSinceFetch = 0
  private stopped = false
  private last: string | null = null
  private running: Promise<void> = Promise.resolve()

  constructor(
    private readonly cfg: PoolFromDns,
    /** The load-balanced name this DNS-LB serves; a pool published for another name is refused. */
    private readonly lbName: string,
    private readonly onPool: (servers: PoolServer[]) => void,
    private readonly problems: ProblemLog,
  ) {}

  /** Starts polling; the first fetch happens at once. */
  start(): void {
    this.stopped = false
    this.schedule(0)
  }

  async stop(): Promise<void> {
    this.stopped = true
    clearTimeout(this.timer)
    await this.running
  }

  /** One poll now (tests, and `start`). Resolves when done; never throws (problems go to the log). */
  poll(): Promise<void> {
    this.running = this.running.then(() => this.pollOnce())
    return this.running
  }

  private schedule(ms: number): void {
    if (this.stopped) return
    this.timer = setTimeout(() => void this.poll().then(() => this.schedule(this.cfg.refresh)), ms)
  }

  private async pollOnce(): Promise<void> {
    const zone = poolZone(this.cfg.name)
    const key = `pool ${this.cfg.name}`
    try {
      const soa = await this.ask(zone, RRType.SOA)
      const serial = soa.answers.find((r) => r.type === RRType.SOA)?.data as {serial?: number} | undefined
      const s = typeof serial?.serial === 'number' ? serial.serial : null
      this.pollsSinceFetch++
      if (s !== null && s === this.serial && this.pollsSinceFetch < REFETCH_EVERY_POLLS) {
        this.problems.ok(key)
        return
      }
      const [txt, a, aaaa] = await Promise.all([
        this.ask(this.cfg.name, RRType.TXT),
        this.ask(this.cfg.name, RRType.A),
        this.ask(this.cfg.name, RRType.AAAA),
      ])
      if (txt.rcode !== Rcode.NOERROR) throw new Error(`${this.cfg.name} TXT: rcode ${txt.rcode}`)
      const strings = txt.answers.filter((r) => r.type === RRType.TXT).flatMap((r) => r.data as string[])
      const addresses = [...a.answers, ...aaaa.answers]
        .filter((r) => r.type === RRType.A || r.type === RRType.AAAA)
        .map((r) => r.data as string)
        .filter((x) => isIP(x) !== 0)
      const pool = parsePublishedPool(strings, addresses)
      if (pool.name !== null && pool.name !== this.lbName) {
        throw new Error(`${this.cfg.name} is the pool of ${pool.name}, not of ${this.lbName}; keeping the last pool`)
      }
      if (pool.servers.length === 0) throw new Error(`${this.cfg.name} lists no content server; keeping the last pool`)
      this.serial = s
      this.pollsSinceFetch = 0
      this.problems.ok(key, `pool ${this.cfg.name} readable again`)
      const text = JSON.stringify(pool.servers)
      if (text === this.last) return
      this.last = text
      this.onPool(pool.servers)
    } catch (err) {
      this.problems.fail(key, `cannot read pool ${this.cfg.name}: ${(err as Error).message} (retrying every ${this.cfg.refresh} ms)`)
    }
  }

  /** Asks the publishers in order; the first answer that is not SERVFAIL/REFUSED wins. */
  private async ask(name: string, type: number): Promise<Message> {
    let lastError: Error | null = null
    for (const server of this.cfg.servers) {
      try {
        const r = await exchange(server, buildQuery(name, type, {rd: false}), {port: this.cfg.port, timeoutMs: this.cfg.timeout})
        if (r.message.rcode === Rcode.SERVFAIL || r.message.rcode === Rcode.REFUSED) {
          lastError = new Error(`${server} answered ${name} with rcode ${r.message.rcode}`)
          continue
        }
        return r.message
      } catch (err) {
        lastError = err as Error
      }
    }
    throw lastError ?? new Error('no pool server configured')
  }
}
