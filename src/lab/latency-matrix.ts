// The lab's latency matrix: how long each fixture content server waits before answering, per prober source.
//
// File format (JSON; "$comment" keys are allowed anywhere a server entry or the top level is):
//
//   {
//     "$comment": "three POPs (DNS-LBs at 127.0.k.1) and three content servers",
//     "defaultMs": 50,                         // servers not listed below; optional, default 0
//     "servers": {
//       "127.0.10.1": {
//         "from": {"127.0.1.0/24": 5,          // source prefix (or bare address = /32, /128) -> ms
//                  "127.0.2.1": 60},
//         "default": 50,                       // any other source; optional, default `defaultMs`
//         "jitterMs": 2,                        // optional: add uniform 0..jitterMs to each delay
//         "loss": 0.1,                          // optional: silently drop this fraction of requests
//         "down": false                         // optional: true = silent (no accept, no reply)
//       }
//     }
//   }
//
// A delay is what the prober sees added to its round trip (the server waits that long before replying),
// not a one-way figure. Among "from" keys the longest matching prefix wins, as in routing.
import {readFileSync} from 'node:fs'
import ipaddr from 'ipaddr.js'
import {z} from 'zod'

const delayMs = z.number().min(0).max(60_000)
const serverSchema = z
  .object({
    $comment: z.string().optional(),
    from: z.record(z.string(), delayMs).optional(),
    default: delayMs.optional(),
    jitterMs: delayMs.optional(),
    loss: z.number().min(0).max(1).optional(),
    down: z.boolean().optional(),
  })
  .strict()
const matrixSchema = z
  .object({
    $comment: z.string().optional(),
    defaultMs: delayMs.optional(),
    servers: z.record(z.string(), serverSchema),
  })
  .strict()

/** The matrix as written in the file. */
export type LatencyMatrixSpec = z.infer<typeof matrixSchema>
/** One server's entry as written in the file. */
export type LatencyServerSpec = z.infer<typeof serverSchema>

interface CompiledServer {
  spec: LatencyServerSpec
  // Sorted longest prefix first, so the first match is the most specific.
  prefixes: Array<{range: [ipaddr.IPv4 | ipaddr.IPv6, number]; ms: number}>
}

/** A validated latency matrix that answers "how long does server S wait for source X". */
export class LatencyMatrix {
  private readonly servers = new Map<string, CompiledServer>()

  private constructor(readonly spec: LatencyMatrixSpec) {
    for (const [address, server] of Object.entries(spec.servers)) {
      const prefixes = Object.entries(server.from ?? {}).map(([key, ms]) => ({range: parsePrefix(key, address), ms}))
      prefixes.sort((a, b) => b.range[1] - a.range[1])
      this.servers.set(canonical(address, `servers key "${address}"`), {spec: server, prefixes})
    }
  }

  /** Validates a parsed JSON value; throws one line naming the field at fault and the `source`. */
  static parse(value: unknown, source = 'latency matrix'): LatencyMatrix {
    if (value instanceof LatencyMatrix) return value
    const r = matrixSchema.safeParse(value)
    if (!r.success) {
      const issue = r.error.issues[0]!
      const where = issue.path.length ? issue.path.join('.') : '(top level)'
      throw new Error(`${source}: ${where}: ${issue.message}`)
    }
    try {
      return new LatencyMatrix(r.data)
    } catch (err) {
      throw new Error(`${source}: ${(err as Error).message}`)
    }
  }

  /** Reads and validates a matrix file. */
  static load(file: string): LatencyMatrix {
    let text: string
    try {
      text = readFileSync(file, 'utf8')
    } catch (err) {
      throw new Error(`${file}: cannot read latency matrix (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`)
    }
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch (err) {
      throw new Error(`${file}: not valid JSON (${(err as Error).message})`)
    }
    return LatencyMatrix.parse(json, file)
  }

  /** The content server addresses the matrix lists. */
  get addresses(): string[] {
    return [...this.servers.keys()]
  }

  /** The configured delay (ms, before jitter) server `server` applies to requests from `source`. */
  delayMs(server: string, source: string): number {
    const s = this.servers.get(canonical(server))
    const fallback = s?.spec.default ?? this.spec.defaultMs ?? 0
    if (!s || s.prefixes.length === 0) return fallback
    let addr: ipaddr.IPv4 | ipaddr.IPv6
    try {
      addr = ipaddr.process(source)
    } catch {
      return fallback
    }
    for (const p of s.prefixes) {
      if (p.range[0].kind() === addr.kind() && addr.match(p.range)) return p.ms
    }
    return fallback
  }

  /** The delay for one request: the configured delay plus this server's jitter, or null to drop it (loss). */
  sampleDelayMs(server: string, source: string, random: () => number = Math.random): number | null {
    const s = this.servers.get(canonical(server))?.spec
    if (s?.loss && random() < s.loss) return null
    return this.delayMs(server, source) + (s?.jitterMs ? random() * s.jitterMs : 0)
  }

  /** True when the server is marked down (silent). */
  isDown(server: string): boolean {
    return this.servers.get(canonical(server))?.spec.down === true
  }
}

function canonical(address: string, what = 'address'): string {
  if (!ipaddr.isValid(address)) {
    if (what === 'address') return address
    throw new Error(`${what} is not an IP address`)
  }
  return ipaddr.process(address).toString()
}

function parsePrefix(key: string, server: string): [ipaddr.IPv4 | ipaddr.IPv6, number] {
  try {
    if (key.includes('/')) return ipaddr.parseCIDR(key)
    const a = ipaddr.process(key)
    return [a, a.kind() === 'ipv4' ? 32 : 128]
  } catch {
    throw new Error(`servers.${server}.from: "${key}" is not an address or prefix (e.g. 127.0.1.0/24)`)
  }
}
