// Runs one server role in the foreground: load and validate the state, listen, reload on SIGHUP or a change of
// the file (a bad reload keeps the last good state), and stop cleanly on SIGINT/SIGTERM.
import {watch, type FSWatcher} from 'node:fs'
import {basename, dirname} from 'node:path'
import type {z} from 'zod'
import {startServer, type DnsServer} from '../dns/server.js'
import type {Handler} from '../dns/handler.js'
import {formatListen} from '../dns/listen-address.js'
import {loadStateFile} from '../state/load-state-file.js'

/** What a role builds from its state. `reload` swaps in a new valid state without dropping the listener. */
export interface RoleInstance<S> {
  handler: Handler
  opcodes?: number[]
  reload(state: S): void
  close?(): Promise<void> | void
}

export interface RunRoleOptions<S> {
  role: string
  stateFile: string
  schema: z.ZodType<S>
  /** --listen flags; when empty, the state's `listen` field; else 127.0.0.1:53. */
  listen?: string[]
  logQueries?: boolean
  /** NSID (RFC 5001) this server sends when asked: "glb ROLE NAME". */
  nsid?: string
  build(state: S): Promise<RoleInstance<S>> | RoleInstance<S>
  /** Called once listening, with the bound addresses. */
  onListening?(server: DnsServer): void
  /** Called on each reload outcome (for logs). */
  onReload?(ok: boolean, message: string): void
  /** Resolve to stop (tests); otherwise SIGINT/SIGTERM stop. */
  stopSignal?: Promise<void>
}

/** Starts the role and resolves when it has stopped. Throws (before listening) when the state is invalid. */
export async function runRole<S extends {listen?: string[]}>(o: RunRoleOptions<S>): Promise<void> {
  const state = await loadStateFile(o.stateFile, o.schema)
  const instance = await o.build(state)
  const listen = o.listen?.length ? o.listen : state.listen?.length ? state.listen : ['127.0.0.1:53']
  let server: DnsServer
  try {
    server = await startServer({
      listen,
      handler: instance.handler,
      opcodes: instance.opcodes,
      queryLog: o.logQueries ? process.stdout : undefined,
      nsid: o.nsid ?? `glb ${o.role}`,
    })
  } catch (err) {
    await instance.close?.() // a role may have started timers or probes in build(): they must not keep us alive
    throw err
  }
  o.onListening?.(server)

  // One reload at a time; a request that arrives during one runs again after it, so the last version of the
  // file is always the one read (a change written while a reload was reading is never lost).
  let reloading = false
  let again: string | null = null
  const reload = async (why: string) => {
    if (reloading) { again = why; return }
    reloading = true
    try {
      const next = await loadStateFile(o.stateFile, o.schema)
      instance.reload(next)
      o.onReload?.(true, `reloaded ${o.stateFile} (${why})`)
    } catch (err) {
      o.onReload?.(false, `kept the last good state: ${(err as Error).message}`)
    } finally {
      reloading = false
      if (again !== null) { const w = again; again = null; void reload(w) }
    }
  }
  const onHup = () => void reload('SIGHUP')
  process.on('SIGHUP', onHup)
  // Watch the directory: atomic writers replace the file by rename, which a watch on the file itself misses.
  let watcher: FSWatcher | null = null
  let debounce: NodeJS.Timeout | null = null
  try {
    watcher = watch(dirname(o.stateFile), (_event, name) => {
      if (name !== basename(o.stateFile)) return
      if (debounce) clearTimeout(debounce)
      debounce = setTimeout(() => void reload('file changed'), 100)
    })
  } catch {
    watcher = null // SIGHUP still works
  }

  let stop = () => {}
  await new Promise<void>((resolve) => {
    stop = () => resolve()
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
    o.stopSignal?.then(stop)
  })
  process.off('SIGINT', stop)
  process.off('SIGTERM', stop)
  process.off('SIGHUP', onHup)
  watcher?.close()
  if (debounce) clearTimeout(debounce)
  await instance.close?.()
  await server.close()
}

export function describeListen(server: DnsServer): string {
  return server.addresses.map(formatListen).join(', ')
}
