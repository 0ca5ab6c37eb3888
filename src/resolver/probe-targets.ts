// `glb probe` targets as typed -> one probe target per address: a host name becomes a row per A/AAAA record.
import {parseTargetSpec, targetAt} from '../probe/parse-target.js'
import type {ProbeTarget} from '../probe/prober.js'
import {HostLookupError, lookupHost, type HostLookupOptions} from './host-lookup.js'

/** One address to probe, with the name it came from (null when an address was typed). */
export interface ResolvedTarget {
  spec: string
  name: string | null
  target: ProbeTarget
}

/** Parses every spec, looks up every name (concurrently), and returns the targets in the order typed. */
export async function resolveProbeTargets(specs: string[], defaultPort: number, o: HostLookupOptions = {}): Promise<ResolvedTarget[]> {
  const parsed = specs.map((spec) => {
    try {
      return {spec, ts: parseTargetSpec(spec, defaultPort)}
    } catch (err) {
      throw new HostLookupError('input', (err as Error).message)
    }
  })
  const rows = await Promise.all(parsed.map(async ({spec, ts}) => {
    const addresses = await lookupHost(ts.host, o)
    const name = addresses.length === 1 && addresses[0] === ts.host ? null : ts.host
    return addresses.map((address) => ({spec, name, target: targetAt(ts, address)}))
  }))
  return rows.flat()
}
