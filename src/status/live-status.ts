// A running role's live summary for `glb status --metrics ADDR:PORT`, read from its Prometheus endpoint:
// which role, answering what, since when, the last reload and the last error.
import {parseMetricsText, type MetricSample} from './metrics-text.js'

export interface LiveStatus {
  role: 'dns-a' | 'dns-b' | 'dns-lb' | 'dns-isp' | string
  /** A DNS-LB's label, a DNS-B's zone; empty when the role has none. */
  name: string
  url: string
  servingSince: string | null
  uptimeSeconds: number | null
  /** DNS answers sent since start, and by rcode. */
  queries: {total: number; byRcode: Record<string, number>}
  /** DNS-LB: the servers it answers with now, and each server's probe figures. */
  answer?: string[]
  servers?: {address: string; srttMs: number | null; up: boolean | null; lossPct: number | null; answered: boolean}[]
  /** DNS-B: mappings and leases held, referrals given by DNS-LB. */
  mappings?: number
  leases?: Record<string, number>
  referrals?: Record<string, number>
  reloads: {ok: number; failed: number; lastOkAt: string | null}
  lastError: {at: string; message: string} | null
}

/** Thrown for an endpoint that cannot be read or is not a glb role's; the message is one line naming the URL. */
export class LiveStatusError extends Error {}

const ROLE_NAMES: Record<string, LiveStatus['role']> = {a: 'dns-a', b: 'dns-b', lb: 'dns-lb', isp: 'dns-isp'}

/** Fetches `http://<hostPort>/metrics` (bounded by `timeoutMs`) and summarizes it. */
export async function readLiveStatus(hostPort: string, o: {timeoutMs?: number; now?: number} = {}): Promise<LiveStatus> {
  const url = `http://${hostPort}/metrics`
  let text: string
  try {
    const res = await fetch(url, {signal: AbortSignal.timeout(o.timeoutMs ?? 3000)})
    if (!res.ok) throw new LiveStatusError(`${url}: HTTP ${res.status}`)
    text = await res.text()
  } catch (err) {
    if (err instanceof LiveStatusError) throw err
    const e = err as Error & {cause?: {code?: string}}
    const why = e.name === 'TimeoutError' ? `no answer within ${o.timeoutMs ?? 3000} ms` : e.cause?.code ?? e.message
    throw new LiveStatusError(`cannot read ${url} (${why}): is the role running with --metrics ${hostPort}?`)
  }
  return summarizeMetrics(parseMetricsText(text), url, o.now ?? Date.now())
}

/** The summary of one scrape's samples. */
export function summarizeMetrics(samples: MetricSample[], url: string, now: number): LiveStatus {
  const all = (name: string) => samples.filter((s) => s.name === name)
  const one = (name: string) => all(name)[0]?.value ?? null
  const iso = (seconds: number | null) => (seconds ? new Date(seconds * 1000).toISOString() : null)
  const info = all('glb_role_info')[0]
  if (!info) throw new LiveStatusError(`${url}: not a glb role's metrics (no glb_role_info)`)
  const since = one('glb_serving_since_seconds')
  const byRcode: Record<string, number> = {}
  let total = 0
  for (const s of all('dns_queries_total')) {
    byRcode[s.labels.rcode ?? '?'] = (byRcode[s.labels.rcode ?? '?'] ?? 0) + s.value
    total += s.value
  }
  const error = all('glb_last_error_seconds').sort((a, b) => b.value - a.value)[0]
  const reload = (result: string) => all('glb_reloads_total').find((s) => s.labels.result === result)?.value ?? 0
  const status: LiveStatus = {
    role: ROLE_NAMES[info.labels.role ?? ''] ?? info.labels.role ?? '?',
    name: info.labels.name ?? '',
    url,
    servingSince: iso(since),
    uptimeSeconds: since ? Math.max(0, Math.round(now / 1000 - since)) : null,
    queries: {total, byRcode},
    reloads: {ok: reload('ok'), failed: reload('failed'), lastOkAt: iso(one('glb_last_reload_seconds'))},
    lastError: error ? {at: iso(error.value)!, message: error.labels.message ?? ''} : null,
  }
  if (status.role === 'dns-lb') {
    const byServer = (name: string) => new Map(all(name).map((s) => [s.labels.server!, s.value]))
    const answered = byServer('answer_server')
    const rtt = byServer('probe_rtt_seconds')
    const up = byServer('probe_up')
    const loss = byServer('probe_loss')
    const addresses = [...new Set([...answered.keys(), ...rtt.keys(), ...up.keys()])].sort()
    status.answer = addresses.filter((a) => answered.get(a) === 1)
    status.servers = addresses.map((address) => ({
      address,
      srttMs: rtt.has(address) ? Math.round(rtt.get(address)! * 1e4) / 10 : null,
      up: up.has(address) ? up.get(address) === 1 : null,
      lossPct: loss.has(address) ? Math.round(loss.get(address)! * 100) : null,
      answered: answered.get(address) === 1,
    }))
  }
  if (status.role === 'dns-b') {
    status.mappings = one('mappings') ?? 0
    status.leases = Object.fromEntries(all('leases').map((s) => [s.labels.kind ?? '?', s.value]))
    status.referrals = Object.fromEntries(all('referrals_total').map((s) => [s.labels.lb ?? '?', s.value]))
  }
  return status
}
