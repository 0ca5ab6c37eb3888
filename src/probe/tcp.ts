// TCP prober: the time to complete a TCP handshake (connect), then the connection is closed at once.
import net from 'node:net'
import {attempt, roundMs} from './attempt.js'
import {networkError} from './network-error.js'
import type {ProbeTarget, Prober, ProberOptions, Sample} from './prober.js'

/**
 * Measures connect time. On loopback the kernel answers the SYN itself, so a userland delay (the fixture
 * content server's latency matrix) does not show here; a silent host (SYN dropped) is a timeout, a closed
 * port is "refused".
 */
export class TcpProber implements Prober {
  readonly method = 'tcp' as const
  constructor(private readonly opts: ProberOptions = {}) {}

  probe(target: ProbeTarget, signal?: AbortSignal): Promise<Sample> {
    return attempt(this.opts.timeoutMs ?? 1000, signal, (c) => {
      const localAddress = target.localAddress ?? this.opts.localAddress
      const socket = net.connect({host: target.address, port: target.port, ...(localAddress ? {localAddress} : {})})
      c.start() // connect() is issued on the next tick for an IP literal: the handshake is measured
      c.onCleanup(() => socket.destroy())
      socket.once('connect', () => c.settle({ok: true, rttMs: roundMs(c.elapsed())}))
      socket.once('error', (err: NodeJS.ErrnoException) => c.settle({ok: false, error: networkError(err)}))
    })
  }
}
