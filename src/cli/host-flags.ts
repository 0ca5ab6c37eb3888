// Flags where people type a host (--b, --server, --resolver): names become addresses once, before the command runs.
import {Exit, GlbError} from './base-command.js'

// Imported on first use: commands import this file at the top, and most runs never look a name up.
async function lookups() {
  return import('../resolver/host-lookup.js')
}

/** Where flag values are looked up: the DNS server in GLB_RESOLVER (ADDR[:PORT]) when set, else the system resolver. */
function lookupOptions(): {resolver?: string} {
  return process.env.GLB_RESOLVER ? {resolver: process.env.GLB_RESOLVER} : {}
}

async function asGlbError<T>(flag: string, run: () => Promise<T>): Promise<T> {
  const {HostLookupError} = await lookups()
  try {
    return await run()
  } catch (err) {
    if (err instanceof HostLookupError) throw new GlbError(`${flag}: ${err.message}`, err.kind === 'input' ? Exit.usage : Exit.failed)
    throw err
  }
}

/** Every address of every HOST (a name or an address) given to `flag`, in order. */
export async function flagAddresses(flag: string, hosts: string[]): Promise<string[]> {
  const {lookupHost} = await lookups()
  return asGlbError(flag, async () => (await Promise.all(hosts.map((h) => lookupHost(h, lookupOptions())))).flat())
}

/** Every address of every HOST[:PORT] given to `flag`, as "ADDR:PORT" / "[V6]:PORT", in order. */
export async function flagEndpoints(flag: string, specs: string[], defaultPort = 53): Promise<string[]> {
  const {lookupEndpoints} = await lookups()
  return asGlbError(flag, async () => (await Promise.all(specs.map((s) => lookupEndpoints(s, defaultPort, lookupOptions())))).flat())
}
