// Runs dnsperf once (pinned to the load generator's core) and reads its summary, and with `verbose` the
// per-query latencies (dnsperf -v prints one "> RCODE ... seconds" line per answer) for percentiles.
import {spawn} from 'node:child_process'
import {createReadStream, mkdtempSync, openSync, closeSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {createInterface} from 'node:readline'

export interface DnsperfOptions {
  server: string
  port: number
  /** A query file: "name type" lines, or with `binary` length-prefixed wire messages (dnsperf -B). */
  file: string
  binary?: boolean
  /** Time limit. Queries still in flight when it strikes count as lost: see `once`. */
  seconds: number
  /** Send the file once (-n 1) and wait for every answer: losses are then real losses. `seconds` still bounds it. */
  once?: boolean
  clients?: number
  outstanding?: number
  /** Rate limit (dnsperf -Q): for latency at a fixed load. */
  maxQps?: number
  /** Collect every answer's latency (dnsperf -v) for p50/p99. Costs dnsperf CPU: use at fixed rates only. */
  verbose?: boolean
  /** Prefix that pins dnsperf, e.g. ['taskset', '-c', '0']; empty to run it unpinned. */
  pin?: string[]
}

export interface DnsperfResult {
  sent: number
  completed: number
  lost: number
  qps: number
  avgMs: number
  maxMs: number
  /** From -v lines only (NaN otherwise). */
  p50Ms: number
  p99Ms: number
  rcodes: string
  /** dnsperf's own output when it could not be read (for the error line). */
  raw: string
}

const num = (out: string, re: RegExp): number => {
  const m = re.exec(out)
  return m ? Number(m[1]) : NaN
}

/** Runs dnsperf to completion (bounded: it stops itself after `seconds`; killed 30 s later if not). */
export async function runDnsperf(o: DnsperfOptions): Promise<DnsperfResult> {
  const args = ['-s', o.server, '-p', String(o.port), '-d', o.file, '-l', String(o.seconds),
    '-c', String(o.clients ?? 4), '-q', String(o.outstanding ?? 200), '-t', '2']
  if (o.once) args.push('-n', '1')
  if (o.binary) args.push('-B')
  if (o.maxQps) args.push('-Q', String(Math.round(o.maxQps)))
  if (o.verbose) args.push('-v')
  const pin = o.pin ?? []
  // -v output goes to a file, read after the run: parsing 500,000 lines live would take CPU from dnsperf.
  const dir = o.verbose ? mkdtempSync(join(tmpdir(), 'glb-dnsperf-')) : null
  const outFile = dir ? join(dir, 'v.txt') : null
  const fd = outFile ? openSync(outFile, 'w') : null
  let summary = ''
  try {
    await new Promise<void>((resolve, reject) => {
      const [cmd, ...rest] = [...pin, 'dnsperf', ...args]
      const child = spawn(cmd!, rest, {stdio: ['ignore', fd ?? 'pipe', 'pipe']})
      child.stdout?.on('data', (d) => (summary += d))
      child.stderr?.on('data', (d) => (summary += d))
      const timer = setTimeout(() => child.kill('SIGKILL'), (o.seconds + 30) * 1000)
      child.on('error', reject)
      child.on('close', () => (clearTimeout(timer), resolve()))
    })
    if (fd !== null) closeSync(fd)
    const lat: number[] = []
    if (outFile) {
      const rl = createInterface({input: createReadStream(outFile), crlfDelay: Infinity})
      for await (const line of rl) {
        if (line.startsWith('> ')) {
          const s = Number(line.slice(line.lastIndexOf(' ') + 1))
          if (line[2] !== 'T' || line[3] !== ' ') lat.push(s * 1000)
        } else summary += line + '\n'
      }
    }
    lat.sort((a, b) => a - b)
    const pct = (p: number) => (lat.length ? lat[Math.min(lat.length - 1, Math.floor(p * lat.length))]! : NaN)
    return {
      sent: num(summary, /Queries sent:\s+(\d+)/),
      completed: num(summary, /Queries completed:\s+(\d+)/),
      lost: num(summary, /Queries lost:\s+(\d+)/),
      qps: num(summary, /Queries per second:\s+([\d.]+)/),
      avgMs: num(summary, /Average Latency \(s\):\s+([\d.]+)/) * 1000,
      maxMs: num(summary, /Average Latency \(s\):.*max ([\d.]+)\)/) * 1000,
      p50Ms: pct(0.5),
      p99Ms: pct(0.99),
      rcodes: (/Response codes:\s+(.*)/.exec(summary)?.[1] ?? '').trim(),
      raw: summary,
    }
  } finally {
    if (dir) rmSync(dir, {recursive: true, force: true})
  }
}
