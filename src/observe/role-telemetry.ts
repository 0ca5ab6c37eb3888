// RoleTelemetry: what every `glb serve ROLE` sets up to be observed: its JSON-lines logger, and with --metrics a
// registry, the answer-observing handler wrapper and the /metrics endpoint, started once the role listens.
import type {Handler} from '../dns/handler.js'
import {createLogger, type Logger} from './create-logger.js'
import {createMetrics, type GlbMetrics} from './metrics.js'
import {observeAnswers, type ObserveOptions} from './observe-answers.js'
import {serveMetrics, type MetricsServer} from './serve-metrics.js'

/** One role's logger and (optional) metrics. */
export class RoleTelemetry {
  readonly log: Logger
  /** Present when --metrics was given. */
  readonly metrics: GlbMetrics | undefined
  private endpoint: Promise<MetricsServer | undefined> = Promise.resolve(undefined)

  /** `component` names the role in logs (dns-b); `role` labels its metrics (b); `metricsListen` is --metrics. */
  constructor(private readonly component: string, private readonly role: string, private readonly metricsListen?: string) {
    this.log = createLogger(component)
    this.metrics = metricsListen ? createMetrics() : undefined
  }

  /** `handler` with every answer counted and timed, when metrics are on; else `handler` itself. */
  wrap(handler: Handler, o: ObserveOptions = {}): Handler {
    return this.metrics ? observeAnswers(handler, this.metrics.forRole(this.role), o) : handler
  }

  /**
   * Starts /metrics (call once the DNS listeners are up). A failure is logged; serving DNS goes on. `name` says
   * which one of its role this process is (a DNS-LB's label, a DNS-B's zone), for `glb status --metrics`.
   */
  serve(o: {name?: string} = {}): void {
    if (!this.metrics || !this.metricsListen) return
    this.metrics.roleInfo.set({role: this.role, component: this.component, name: o.name ?? ''}, 1)
    this.metrics.servingSince.set(Date.now() / 1000)
    const listen = this.metricsListen
    this.endpoint = serveMetrics(listen, this.metrics.registry).then(
      (s) => {
        this.log.info({event: 'metrics', listen: `${s.address}`}, `metrics at http://${s.address}/metrics`)
        return s
      },
      (err: Error) => {
        this.log.error({event: 'metrics', listen}, err.message)
        return undefined
      },
    )
  }

  /** Logs a reload outcome and counts it; a failed one is also the last error. */
  reloaded(ok: boolean, message: string, fields: Record<string, unknown> = {}): void {
    this.log[ok ? 'info' : 'warn']({event: 'reload', ok, ...fields}, message)
    const m = this.metrics
    if (!m) return
    m.reloads.inc({result: ok ? 'ok' : 'failed'})
    if (ok) m.lastReload.set(Date.now() / 1000)
    else this.failed(message)
  }

  /** Records `message` as the last error (for /metrics; the caller logs it). */
  failed(message: string): void {
    const m = this.metrics
    if (!m) return
    m.lastError.reset()
    // One line, bounded: a label value is kept in memory and sent with every scrape.
    m.lastError.set({message: message.replace(/\s+/g, ' ').slice(0, 300)}, Date.now() / 1000)
  }

  /** Stops /metrics. */
  async close(): Promise<void> {
    await (await this.endpoint)?.close()
  }
}
