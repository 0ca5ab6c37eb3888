// Runs one server role in the foreground: load and validate the state, listen, reload on SIGHUP or a change of
// the file (src/state's watchStateFile; a bad reload keeps the last good state), and stop cleanly on SIGINT/SIGTERM.
import type {z} from 'zod'
import {startServer, type DnsServer} from '../dns/server.js'
import type {Handler} from '../dns/handler.js'
import {formatListen} from '../dns/listen-address.js'
import {loadStateFile} from '../state/load-state-file.js'
import {watchStateFile, type ReloadReason} from '../state/watch-state-file.js'

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

  // SIGHUP, a change seen by fs.watch on the directory (atomic writers rename), or a slow stat poll where
  // fs.watch is deaf; one reload at a time, a bad version keeps the last good state, our own writes are skipped.
  const why: Record<ReloadReason, string> = {signal: 'SIGHUP', change: 'file changed', poll: 'file changed', manual: 'reload'}
  const watcher = watchStateFile(o.stateFile, o.schema, {
    onReload(next, {reason}) {
      instance.reload(next)
      o.onReload?.(true, `reloaded ${o.stateFile} (${why[reason]})`)
    },
    onError: (err) => o.onReload?.(false, `kept the last good state: ${err.message}`),
  })

  let stop = () => {}
  await new Promise<void>((resolve) => {
    stop = () => resolve()
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
    o.stopSignal?.then(stop)
  })
  process.off('SIGINT', stop)
  process.off('SIGTERM', stop)
  watcher.close()
  await instance.close?.()
  await server.close()
}

export function describeListen(server: DnsServer): string {
  return server.addresses.map(formatListen).join(', ')
}
