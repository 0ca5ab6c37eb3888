// Serving one address from several cores: `glb serve ROLE --workers N`.
//
// Node 20's dgram has no reusePort, so the way is node:cluster. This process (the primary) forks N workers
// that run the same command; a worker's bind goes through the primary, which creates one UDP socket and
// passes it to every worker (the kernel hands each datagram to whichever worker reads first) and accepts TCP
// connections, handing them out in turn. The primary runs no role code: it starts the workers, relays what
// worker 1 (the leader) publishes to the others (the followers), forwards SIGHUP, restarts a worker that
// dies after it was serving, and on SIGINT/SIGTERM stops them all.
import cluster, {type Worker} from 'node:cluster'

/** Which worker this process is, when it is one: 1 is the leader. */
export function workerRank(): number | null {
  if (!cluster.isWorker) return null
  const rank = Number(process.env.GLB_WORKER)
  return Number.isInteger(rank) && rank > 0 ? rank : null
}

/** Messages between a worker and the primary (`glb` marks ours among cluster's own). */
export type WorkerMessage =
  | {glb: 'listening'}
  /** From the leader: relayed to every follower. `replay` events are also sent to a worker that starts later. */
  | {glb: 'publish'; event: unknown; replay?: string}

/** Sends a message to the primary (a no-op outside a worker). */
export function tellPrimary(message: WorkerMessage): void {
  if (cluster.isWorker && process.send) process.send(message)
}

/** Calls `onEvent` with each event the leader publishes (followers only). */
export function onLeaderEvent(onEvent: (event: unknown) => void): void {
  process.on('message', (m: unknown) => {
    if (m && typeof m === 'object' && (m as {glb?: unknown}).glb === 'event') onEvent((m as {event: unknown}).event)
  })
}

export interface SuperviseOptions {
  workers: number
  /** One line for the operator (stderr or the log). */
  say(level: 'info' | 'warn' | 'error', message: string): void
  /** A worker that dies before it ever listened stops them all (a bad state file would only die again). */
  restartDelayMs?: number
  /** How long a stopping worker may take before SIGKILL. */
  stopTimeoutMs?: number
}

/**
 * Runs the primary until SIGINT/SIGTERM (resolves once every worker has exited) or until a worker dies
 * before it listened (rejects with why). Worker k runs with GLB_WORKER=k.
 */
export function superviseWorkers(o: SuperviseOptions): Promise<void> {
  const restartDelayMs = o.restartDelayMs ?? 1000
  const stopTimeoutMs = o.stopTimeoutMs ?? 5000
  // Workers run this very command (bin/run.js or bin/dev.js with its arguments) with this process's Node flags.
  cluster.setupPrimary({exec: process.argv[1], args: process.argv.slice(2), execArgv: process.execArgv})
  const byRank = new Map<number, Worker>()
  const listening = new Set<Worker>()
  const replay = new Map<string, unknown>()
  let stopping = false
  let failure: Error | null = null

  return new Promise<void>((resolve, reject) => {
    const finishIfDone = () => {
      if (byRank.size > 0) return
      process.off('SIGINT', stop)
      process.off('SIGTERM', stop)
      process.off('SIGHUP', hup)
      if (failure) reject(failure)
      else resolve()
    }
    const fork = (rank: number) => {
      const w = cluster.fork({GLB_WORKER: String(rank), GLB_PARENT_PID: String(process.pid)}) // a worker stops if we die
      byRank.set(rank, w)
      w.on('message', (m: WorkerMessage) => {
        if (!m || typeof m !== 'object') return
        if (m.glb === 'listening') {
          listening.add(w)
          for (const event of replay.values()) w.send({glb: 'event', event})
          o.say('info', `worker ${rank} (pid ${w.process.pid}) is serving${rank === 1 ? ' (leader: probes, registers, persists)' : ''}`)
        } else if (m.glb === 'publish' && rank === 1) {
          if (m.replay) replay.set(m.replay, m.event)
          for (const [r, other] of byRank) if (r !== 1 && listening.has(other)) other.send({glb: 'event', event: m.event})
        }
      })
      w.on('exit', (code, signal) => {
        byRank.delete(rank)
        const served = listening.delete(w)
        if (stopping) return finishIfDone()
        if (!served) {
          failure = new Error(`worker ${rank} exited (${signal ?? code}) before it was serving; stopping`)
          stop()
          return finishIfDone()
        }
        o.say('warn', `worker ${rank} (pid ${w.process.pid}) exited (${signal ?? code}); restarting it in ${restartDelayMs} ms`)
        setTimeout(() => { if (!stopping) fork(rank) }, restartDelayMs)
      })
    }
    const stop = () => {
      if (stopping) return
      stopping = true
      for (const w of byRank.values()) {
        w.process.kill('SIGTERM')
        setTimeout(() => w.process.kill('SIGKILL'), stopTimeoutMs).unref()
      }
      finishIfDone()
    }
    const hup = () => { for (const w of byRank.values()) w.process.kill('SIGHUP') }
    process.on('SIGINT', stop)
    process.on('SIGTERM', stop)
    process.on('SIGHUP', hup)
    for (let rank = 1; rank <= o.workers; rank++) fork(rank)
  })
}
