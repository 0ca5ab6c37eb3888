// TCP prober: the time to complete a TCP handshake (connect), then the connection is reset at once.
import net from 'node:net'
import {BaseProber, begin, roundMs} from './attempt.js'
import {networkError} from './network-error.js'
import type {ProbeRun, ProbeTarget, ProberOptions, Sample} from './prober.js'

/**
 * Measures connect time. On loopback the kernel answers the SYN itself, so a userland delay (the fixture
 * content server's latency matrix) does not show here; a silent host (SYN dropped) is a timeout, a closed
 * port is "refused".
 */
export class TcpProber extends BaseProber {
  readonly method = 'tcp' as const
  constructor(private readonly opts: ProberOptions = {}) {
    super(opts)
  }

  start(target: ProbeTarget, done: (sample: Sample) => void): ProbeRun {
    return begin(this.deadlines, (c) => {
      const socket = connectTo(target, this.opts)
      c.start() // connect() is issued on the next tick for an IP literal: the handshake is measured
      c.onCleanup(() => socket.destroy())
      socket.on('connect', () => {
        const rttMs = roundMs(c.elapsed())
        // The RTT is all a TCP probe needs: an RST ends it without a FIN exchange or a TIME_WAIT socket
        // (as HAProxy's health checks do).
        socket.resetAndDestroy()
        c.settle({ok: true, rttMs})
      })
      // `on`, not `once`: a destroyed socket can still report an error, and an unheard one would throw.
      socket.on('error', (err: NodeJS.ErrnoException) => c.settle({ok: false, error: networkError(err)}))
    }, done)
  }
}

/** A new socket connecting to the target from its source address (the target's, else the prober's). */
export function connectTo(target: ProbeTarget, opts: ProberOptions, onread?: net.OnReadOpts): net.Socket {
  const localAddress = target.localAddress ?? opts.localAddress
  const o: net.TcpNetConnectOpts = {host: target.address, port: target.port}
  if (localAddress) o.localAddress = localAddress
  if (onread) o.onread = onread
  return net.connect(o)
}
