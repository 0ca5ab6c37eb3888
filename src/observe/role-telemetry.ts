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
  constructor(component: string, private readonly role: string, private readonly metricsListen?: string) {
    this.log = createLogger(component)
    this.metrics = metricsListen ? createMetrics() : undefined
  }

  /** `handler` with every answer counted and timed, when metrics are on; else `handler` itself. */
  wrap(handler: Handler, o: ObserveOptions = {}): Handler {
    return this.metrics ? observeAnswers(handler, this.metrics.forRole(this.role), o) : handler
  }

  /** Starts /metrics (call once the DNS listeners are up). A failure is logged; serving DNS goes on. */
  serve(): void {
    if (!this.metrics || !this.metricsListen) return
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

  /** Stops /metrics. */
  async close(): Promise<void> {
    await (await this.endpoint)?.close()
  }
}
