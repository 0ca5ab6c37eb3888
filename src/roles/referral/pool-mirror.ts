// Reads content-server pools from DNS-A over DNS (P._pool.ZONE TXT, refetched when the SOA serial moves).
import {isIP} from 'node:net'
import {buildQuery, exchange} from '../../dns/client.js'
import {RRType, rcodeName} from '../../dns/wire/constants.js'
import {normalizeDnsName} from '../../state/fields.js'
import type {DnsTarget} from '../../registration/send-update.js'

/** One content server of a pool. */
export interface PoolServer {
  address: string
  weight: number
  cost: number
  capacity?: number
}

/** A pool as DNS-A publishes it: the load-balanced name it serves, its servers, and the TXT strings as sent. */
export interface Pool {
  pool: string
  name: string
  servers: PoolServer[]
  txt: string[]
}

/**
 * Parses a pool's TXT strings: "name=<load-balanced name>" and one "<address> weight=W cost=C[ capacity=N]"
 * per server (ARCHITECTURE.md "Pools"). Strings it cannot read are skipped; null without a name.
 */
export function parsePoolTxt(pool: string, txt: readonly string[]): Pool | null {
  let name: string | null = null
  const servers: PoolServer[] = []
  for (const s of txt) {
    if (s.startsWith('name=')) {
      const n = normalizeDnsName(s.slice(5))
      if (typeof n === 'string') name = n
      continue
    }
    const [address, ...fields] = s.trim().split(/\s+/)
    if (!address || !isIP(address)) continue
    const f = new Map(fields.map((x) => x.split('=') as [string, string]))
    const num = (k: string, d: number) => (f.has(k) && Number.isFinite(Number(f.get(k))) ? Number(f.get(k)) : d)
    const server: PoolServer = {address, weight: num('weight', 1), cost: num('cost', 0)}
    if (f.has('capacity')) server.capacity = num('capacity', 0)
    servers.push(server)
  }
  return name ? {pool, name, servers, txt: [...txt]} : null
}

export interface PoolMirrorOptions {
  server: DnsTarget
  /** DNS-A's zone ("example.test."). */
  zone: string
  /** Pool names to read (the P of P._pool.ZONE). */
  names: readonly string[]
  /** How often the SOA serial is asked. */
  refreshMs: number
  timeoutMs?: number
  /** Called with every pool whenever one changed. */
  onChange(pools: ReadonlyMap<string, Pool>): void
  onError?(message: string): void
  /** Called after each poll that DNS-A answered (so a caller can end an episode of errors). */
  onOk?(): void
}

// Refetch every pool at least every this many polls, even without a serial change (a forgotten serial bump).
const FULL_EVERY = 12

/** Keeps a copy of DNS-A's pools; start() fetches once, then polls until stop(). */
export class PoolMirror {
  pools = new Map<string, Pool>()
  private serial: number | null = null
  private polls = 0
  private timer: NodeJS.Timeout | null = null
  private stopped = false

  constructor(private readonly o: PoolMirrorOptions) {}

  /** Fetches the pools once (errors are reported, not thrown), then polls every refreshMs. */
  async start(): Promise<void> {
    await this.refresh()
    this.schedule()
  }

  stop(): void {
    this.stopped = true
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
  }

  /** One poll: ask the SOA serial; refetch the pools when it moved (or `force`). Returns true on a change. */
  async refresh(force = false): Promise<boolean> {
    try {
      const serial = await this.soaSerial()
      this.o.onOk?.()
      this.polls++
      if (!force && serial === this.serial && this.polls % FULL_EVERY !== 0) return false
      const next = new Map<string, Pool>()
      for (const p of this.o.names) {
        const pool = await this.fetchPool(p)
        if (pool) next.set(p, pool)
      }
      this.serial = serial
      if (samePools(next, this.pools)) return false
      this.pools = next
      this.o.onChange(next)
      return true
    } catch (err) {
      this.o.onError?.(`pools from ${this.o.server.address}:${this.o.server.port}: ${(err as Error).message}`)
      return false
    }
  }

  private schedule(): void {
    if (this.stopped) return
    this.timer = setTimeout(() => void this.refresh().finally(() => this.schedule()), this.o.refreshMs)
    this.timer.unref()
  }

  private async ask(name: string, type: number) {
    const r = await exchange(this.o.server.address, buildQuery(name, type, {rd: false}), {port: this.o.server.port, timeoutMs: this.o.timeoutMs ?? 2000})
    return r.message
  }

  private async soaSerial(): Promise<number> {
    const m = await this.ask(this.o.zone, RRType.SOA)
    const soa = m.answers.find((r) => r.type === RRType.SOA)
    if (m.rcode !== 0 || !soa) throw new Error(`SOA of ${this.o.zone}: ${rcodeName(m.rcode)} without an SOA`)
    return (soa.data as {serial: number}).serial
  }

  private async fetchPool(pool: string): Promise<Pool | null> {
    const owner = `${pool}._pool.${this.o.zone}`
    const m = await this.ask(owner, RRType.TXT)
    if (m.rcode !== 0) return null
    const txt = m.answers.filter((r) => r.type === RRType.TXT && r.name === owner).flatMap((r) => r.data as string[])
    return txt.length ? parsePoolTxt(pool, txt) : null
  }
}

function samePools(a: ReadonlyMap<string, Pool>, b: ReadonlyMap<string, Pool>): boolean {
  if (a.size !== b.size) return false
  for (const [k, v] of a) {
    const w = b.get(k)
    if (!w || w.name !== v.name || w.txt.join('\n') !== v.txt.join('\n')) return false
  }
  return true
}
