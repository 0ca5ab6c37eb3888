// What every part of the benchmark shares: run length, rounds, core pinning, a scratch folder, the report.
import type {Report} from './report.js'

export interface BenchSettings {
  /** Seconds per measurement. */
  seconds: number
  /** Rounds of back-to-back (ABAB) measurements. */
  rounds: number
  /** Prefix pinning servers to their core (['taskset', '-c', '1']), or [] without taskset. */
  pinServer: string[]
  /** Prefix pinning the load generator to the other core. */
  pinLoad: string[]
  /** dnsperf clients and queries outstanding, the same for every server. */
  clients: number
  outstanding: number
  /** A scratch folder removed at the end. */
  dir: string
  report: Report
}
