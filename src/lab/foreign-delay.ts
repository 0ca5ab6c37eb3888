// The lab's distance between POPs, which loopback lacks: a DNS-LB's replies to resolvers other than its own are held
// back, so resolvers (which pick among a referral's NS by measured RTT) prefer their own, nearer DNS-LB.
import type {Handler, Request, ResponseWriter} from '../dns/handler.js'
import {isRelayed} from '../roles/balancer/second-ns-relay.js'

/**
 * Wraps a DNS-LB's handler: a query from a client that is not the DNS-LB's own resolver (`isHome`) is answered
 * `delayMs` after it arrived (time the DNS-LB spent, e.g. relaying for a second NS, counts). Queries one DNS-LB
 * relays to another are not delayed (the relaying one already is). Lab only: production roles know no distance.
 */
export function withForeignDelay(inner: Handler, isHome: (address: string) => boolean, delayMs: number): Handler {
  if (delayMs <= 0) return inner
  return {
    serveDNS(req: Request, w: ResponseWriter) {
      if (isHome(req.client.address) || isRelayed(req.query.edns)) return inner.serveDNS(req, w)
      const started = Date.now()
      const later = (send: () => void) => {
        const wait = delayMs - (Date.now() - started)
        if (wait > 0) setTimeout(send, wait)
        else send()
      }
      // Option buffers (the ECS echo) are reused by the next query: keep a copy for the delayed send.
      return inner.serveDNS(req, {
        prepared: (p, extra) => {
          const e = extra ? Buffer.from(extra) : undefined
          later(() => w.prepared(p, e))
        },
        reply: (spec, options) => {
          const o = options?.map((b) => Buffer.from(b))
          later(() => w.reply(spec, o))
        },
        raw: (message) => {
          const m = Buffer.from(message)
          later(() => w.raw(m))
        },
        stream: (messages) => later(() => w.stream(messages)),
        drop: () => w.drop(),
      })
    },
  }
}
