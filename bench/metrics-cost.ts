// What counting a query costs on the hot path: src/observe's pre-bound handles (forRole: countQuery,
// observeAnswer) beside prom-client's labels() per call, which metrics.ts advises against. Target: the
// pre-bound way at least 5x cheaper for the counter and for the histogram (test/observe/metrics.test.ts
// checks only that both count right).
import {Histogram, Registry} from 'prom-client'
import {createMetrics} from '../src/observe/metrics.js'
import {fmt, median} from './report.js'
import type {BenchSettings} from './settings.js'

const N = 200_000
const QTYPES = ['A', 'AAAA', 'NS', 'SOA']

/** Nanoseconds per call of `f` (N calls), after one warm-up run. */
function perCall(f: () => void): number {
  f()
  const t0 = process.hrtime.bigint()
  f()
  return Number(process.hrtime.bigint() - t0) / N
}

export async function metricsCost(s: BenchSettings): Promise<void> {
  const m = createMetrics({processMetrics: false})
  const ref = new Histogram({name: 'ref_seconds', help: 'h', labelNames: ['role'], buckets: [...m.dnsAnswerSeconds.buckets], registers: [new Registry()]})
  const bound = m.forRole('isp')
  const runs = {labels: [] as number[], bound: [] as number[], histRef: [] as number[], histFast: [] as number[]}
  for (let round = 0; round < s.rounds; round++) {
    runs.labels.push(perCall(() => { for (let i = 0; i < N; i++) m.dnsQueries.labels('isp', QTYPES[i & 3]!, 'NOERROR').inc() }))
    runs.bound.push(perCall(() => { for (let i = 0; i < N; i++) bound.countQuery(QTYPES[i & 3]!, 'NOERROR') }))
    runs.histRef.push(perCall(() => { for (let i = 0; i < N; i++) ref.labels('isp').observe(0.0003) }))
    runs.histFast.push(perCall(() => { for (let i = 0; i < N; i++) bound.observeAnswer(0.0003) }))
  }
  const ns = (xs: number[]) => median(xs)
  s.report.table(
    `Counting a query: pre-bound handles vs prom-client labels() (${fmt.int(N)} calls, median of ${s.rounds} rounds)`,
    ['metric', 'labels() per call ns', 'pre-bound per call ns', 'ratio', 'target'],
    [
      ['dns_queries_total (counter)', fmt.us(ns(runs.labels)), fmt.us(ns(runs.bound)), fmt.ratio(ns(runs.labels) / ns(runs.bound)), '>= 5x'],
      ['dns_answer_seconds (histogram)', fmt.us(ns(runs.histRef)), fmt.us(ns(runs.histFast)), fmt.ratio(ns(runs.histRef) / ns(runs.histFast)), '>= 5x'],
    ],
  )
}
