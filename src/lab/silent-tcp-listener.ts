// A TCP port that is held but silent: SYNs are dropped, as when a host is down, instead of refused (RST).
import net from 'node:net'
import {Worker} from 'node:worker_threads'

// Userland cannot drop a SYN, but the kernel does when a listener's accept queue is full. So a worker
// thread listens with backlog 1 and then blocks its own event loop before it ever accepts; we fill the
// queue with a few connections of our own, and every later SYN to the port is dropped silently.
const WORKER_SOURCE = `
const {workerData, parentPort} = require('node:worker_threads')
const net = require('node:net')
const server = net.createServer()
server.once('error', (err) => parentPort.postMessage({error: err.code || err.message}))
server.listen({host: workerData.host, port: workerData.port, backlog: 1}, () => {
  parentPort.postMessage({port: server.address().port})
  // Block here: this thread's loop never polls again, so nothing is ever accepted.
  Atomics.wait(new Int32Array(workerData.wake), 0, 0)
})
`

/** A held, silent TCP port; `close()` frees it (the port can then be listened on again). */
export interface SilentTcpListener {
  readonly port: number
  close(): Promise<void>
}

/** Holds `host:port` silently. Resolves once the accept queue is full (later connects time out). */
export async function holdSilentTcpPort(host: string, port: number): Promise<SilentTcpListener> {
  const wake = new SharedArrayBuffer(4)
  const worker = new Worker(WORKER_SOURCE, {eval: true, workerData: {host, port, wake}})
  const fillers: net.Socket[] = []
  const close = async (): Promise<void> => {
    Atomics.store(new Int32Array(wake), 0, 1)
    Atomics.notify(new Int32Array(wake), 0)
    await worker.terminate()
    for (const s of fillers) s.destroy()
  }
  const msg = await new Promise<{port?: number; error?: string}>((resolve, reject) => {
    worker.once('message', resolve)
    worker.once('error', reject)
  })
  if (msg.error || msg.port === undefined) {
    await close()
    throw new Error(`cannot hold ${host}:${port} silently: ${msg.error ?? 'no port'}`)
  }
  const held = msg.port
  // Fill the queue: connects succeed until it is full; the first one that does not is the proof.
  for (let i = 0; i < 8; i++) {
    const s = net.connect({host, port: held})
    s.on('error', () => {})
    fillers.push(s)
    const connected = await new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), 50)
      s.once('connect', () => (clearTimeout(t), resolve(true)))
      s.once('error', () => (clearTimeout(t), resolve(false)))
    })
    if (!connected) {
      s.destroy()
      break
    }
  }
  return {port: held, close}
}
