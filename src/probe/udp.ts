// UDP echo prober: send a payload, time the first datagram that comes back (RFC 862 echo or any reply).
import dgram from 'node:dgram'
import {randomBytes} from 'node:crypto'
import {BaseProber, begin, roundMs} from './attempt.js'
import {networkError} from './network-error.js'
import type {ProbeRun, ProbeTarget, ProberOptions, Sample} from './prober.js'

/** Options of the UDP echo prober. */
export interface UdpProberOptions extends ProberOptions {
  /** What to send. Default: 16 random bytes per probe. */
  payload?: Buffer
}

/** Times one datagram round trip from a fresh, connected socket; any reply from the target counts. */
export class UdpProber extends BaseProber {
  readonly method = 'udp' as const
  constructor(private readonly opts: UdpProberOptions = {}) {
    super(opts)
  }

  start(target: ProbeTarget, done: (sample: Sample) => void): ProbeRun {
    return begin(this.deadlines, (c) => {
      const payload = this.opts.payload ?? randomBytes(16)
      const socket = dgram.createSocket(target.address.includes(':') ? 'udp6' : 'udp4')
      c.onCleanup(() => socket.close())
      socket.once('error', (err: NodeJS.ErrnoException) => c.settle({ok: false, error: networkError(err)}))
      // A connected UDP socket only receives from the target, so a stray datagram cannot count as a reply.
      socket.once('message', () => c.settle({ok: true, rttMs: roundMs(c.elapsed())}))
      const localAddress = target.localAddress ?? this.opts.localAddress
      socket.bind({port: 0, ...(localAddress ? {address: localAddress} : {})}, () => {
        if (c.done) return
        socket.connect(target.port, target.address, () => {
          if (c.done) return
          c.start()
          socket.send(payload)
        })
      })
    }, done)
  }
}
