// observeAnswers: a Handler wrapper that counts every answer by qtype and rcode and times it from the handler's
// start to the write (dns_queries_total{role,qtype,rcode}, dns_answer_seconds{role}).
//
// A wrapper (STYLE.md rule 1) rather than code in each role: the rcode is only known when the handler writes,
// so the writer is wrapped per query. The cost is one small object and two clock reads per query (~0.1 µs
// here), and the counts go through pre-bound handles (metrics.ts), never through prom-client per query.
import type {Handler, Request, ResponseWriter} from '../dns/handler.js'
import type {PreparedAnswer} from '../dns/response.js'
import type {ResponseSpec} from '../dns/response.js'
import {rcodeName} from '../dns/wire/constants.js'
import {qtypeLabel, type RoleMetrics} from './metrics.js'

export interface ObserveOptions {
  /** Count dns_queries_total here (default true); false where the role counts its own (the DNS-LB). */
  count?: boolean
}

// rcodeName allocates nothing for known codes but builds "RCODEn" for others: cache the few seen.
const rcodeLabels = new Map<number, string>()
function rcodeLabel(rcode: number): string {
  let s = rcodeLabels.get(rcode)
  if (s === undefined) {
    s = rcodeName(rcode)
    if (rcodeLabels.size < 64) rcodeLabels.set(rcode, s)
  }
  return s
}

class ObservedWriter implements ResponseWriter {
  private done = false
  constructor(
    private readonly w: ResponseWriter,
    private readonly m: RoleMetrics,
    private readonly qtype: string,
    private readonly started: bigint,
    private readonly count: boolean,
  ) {}

  /** Records the answer once (a handler that fails after writing is still one answer). */
  record(rcode: string): void {
    if (this.done) return
    this.done = true
    if (this.count) this.m.countQuery(this.qtype, rcode)
    this.m.observeAnswer(Number(process.hrtime.bigint() - this.started) / 1e9)
  }

  prepared(answer: PreparedAnswer, extraOption?: Buffer): void {
    this.w.prepared(answer, extraOption)
    this.record(rcodeLabel(answer.rcode))
  }

  reply(spec: ResponseSpec, options?: Buffer[]): void {
    this.w.reply(spec, options)
    this.record(rcodeLabel(spec.rcode))
  }

  raw(message: Buffer): void {
    this.w.raw(message)
    this.record(rcodeLabel(message.length >= 4 ? message[3]! & 0xf : 0))
  }

  stream(messages: Buffer[]): void {
    this.w.stream(messages)
    const first = messages[0]
    this.record(rcodeLabel(first && first.length >= 4 ? first[3]! & 0xf : 0))
  }

  drop(): void {
    this.w.drop()
    this.record('DROPPED')
  }
}

/** Wraps `inner` so every answer it gives is counted and timed under `m`'s role. */
export function observeAnswers(inner: Handler, m: RoleMetrics, o: ObserveOptions = {}): Handler {
  const count = o.count ?? true
  return {
    serveDNS(req: Request, w: ResponseWriter): void | Promise<void> {
      const ow = new ObservedWriter(w, m, qtypeLabel(req.query.qtype), process.hrtime.bigint(), count)
      let r: void | Promise<void>
      try {
        r = inner.serveDNS(req, ow)
      } catch (err) {
        ow.record('SERVFAIL') // the server answers a throwing handler with SERVFAIL
        throw err
      }
      if (r && typeof (r as Promise<void>).then === 'function') {
        return (r as Promise<void>).catch((err: unknown) => {
          ow.record('SERVFAIL')
          throw err
        })
      }
    },
  }
}
