// The DNS-LB's table of content-server health, keyed by server address: samples in, "did it matter" out,
// and a JSON form so measurements survive a restart.
import {z} from 'zod'
import type {Sample} from '../probe/prober.js'
import {ServerHealth} from './server-health.js'
import type {HealthOptions, ServerHealthJSON} from './server-health.js'

const serverSchema = z.object({
  lastRttMs: z.number().nonnegative().nullable(),
  srttMs: z.number().nonnegative().nullable(),
  rttvarMs: z.number().nonnegative().nullable(),
  window: z.string().regex(/^[01]{0,1000}$/),
  failStreak: z.number().int().nonnegative(),
  okStreak: z.number().int().nonnegative(),
  up: z.boolean().nullable(),
  samples: z.number().int().nonnegative(),
  lastAt: z.number().nullable(),
  lastError: z.string().nullable(),
  load: z.number().nonnegative().optional(),
})
const tableSchema = z.object({
  version: z.literal(1),
  savedAt: z.number(),
  servers: z.record(z.string(), serverSchema),
})

/** The serialised table: `{version: 1, savedAt, servers: {ADDRESS: {...ServerHealthJSON, load?}}}`. */
export type HealthTableJSON = z.infer<typeof tableSchema>

/** Health of every probed server, keyed by the address string the caller uses (use one spelling). */
export class HealthTable {
  private readonly servers = new Map<string, ServerHealth>()
  private readonly loads = new Map<string, number>()

  constructor(readonly options: HealthOptions = {}) {}

  /** Records a sample for `address`; true when something that can change the choice changed. */
  ingest(address: string, sample: Sample): boolean {
    let h = this.servers.get(address)
    if (!h) {
      h = new ServerHealth(this.options)
      this.servers.set(address, h)
    }
    return h.ingest(sample)
  }

  /** The health of one server, or undefined if it was never measured. */
  get(address: string): ServerHealth | undefined {
    return this.servers.get(address)
  }

  /**
   * Sets a server's reported load, in the unit of its configured capacity (or as a 0-1 fraction when it
   * has none). Returns true when it changed. A reported load takes precedence over a configured one.
   */
  reportLoad(address: string, load: number): boolean {
    if (!(load >= 0)) throw new Error(`load of ${address} must be a number >= 0 (got ${load})`)
    const old = this.loads.get(address)
    this.loads.set(address, load)
    return old !== load
  }

  /** The reported load of a server, if any. */
  load(address: string): number | undefined {
    return this.loads.get(address)
  }

  /** Forgets a server (it left the pool). */
  delete(address: string): boolean {
    this.loads.delete(address)
    return this.servers.delete(address)
  }

  addresses(): string[] {
    return [...this.servers.keys()]
  }

  get size(): number {
    return this.servers.size
  }

  toJSON(): HealthTableJSON {
    const servers: HealthTableJSON['servers'] = {}
    for (const [address, h] of this.servers) {
      const load = this.loads.get(address)
      servers[address] = {...h.toJSON(), ...(load !== undefined ? {load} : {})}
    }
    return {version: 1, savedAt: Date.now(), servers}
  }

  /**
   * Restores a table from `toJSON()` output. Entries whose last sample is older than `maxAgeMs` are
   * dropped: a measurement from hours ago says little about now, and "not measured" is the honest state.
   * Throws one line naming the bad field.
   */
  static fromJSON(value: unknown, options: HealthOptions = {}, restore: {maxAgeMs?: number; now?: number} = {}): HealthTable {
    const r = tableSchema.safeParse(value)
    if (!r.success) {
      const issue = r.error.issues[0]!
      throw new Error(`health state: ${issue.path.join('.') || '(top level)'}: ${issue.message}`)
    }
    const table = new HealthTable(options)
    const now = restore.now ?? Date.now()
    for (const [address, j] of Object.entries(r.data.servers)) {
      if (restore.maxAgeMs !== undefined && (j.lastAt === null || now - j.lastAt > restore.maxAgeMs)) continue
      const {load, ...health} = j
      table.servers.set(address, ServerHealth.fromJSON(health as ServerHealthJSON, options))
      if (load !== undefined) table.loads.set(address, load)
    }
    return table
  }
}
