// createMetrics + serveMetrics: /metrics over loopback carries the shared metrics; pre-bound counting counts right.
// How much cheaper pre-bound counting is than prom-client's labels() (target >= 5x) is `npm run bench -- --only metrics`.
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {createServer} from 'node:net'
import {createMetrics} from '../../src/observe/metrics.js'
import {serveMetrics} from '../../src/observe/serve-metrics.js'

const NAMES = ['dns_queries_total', 'dns_answer_seconds', 'probe_rtt_seconds', 'probe_up', 'probe_loss', 'mappings', 'registrations_total', 'cache_hits_total', 'cache_misses_total']

test('GET /metrics over loopback lists every shared metric, with the values recorded', async () => {
  const m = createMetrics()
  const lb = m.forRole('lb')
  for (let i = 0; i < 3; i++) lb.countQuery('A', 'NOERROR')
  lb.countQuery('AAAA', 'NXDOMAIN')
  lb.observeAnswer(0.0003)
  m.probeRttSeconds.labels('192.0.2.10').set(0.012)
  m.probeUp.labels('192.0.2.10').set(1)
  m.probeLoss.labels('192.0.2.10').set(0.25)
  m.mappings.set(1234)
  m.registrations.labels('accepted', 'new').inc()
  const hits = m.hot(m.cacheHits)
  for (let i = 0; i < 5; i++) hits.inc()
  m.cacheMisses.inc()
  const server = await serveMetrics('127.0.0.1:0', m.registry)
  try {
    assert.ok(server.address.port > 0)
    const res = await fetch(`http://127.0.0.1:${server.address.port}/metrics`)
    assert.is(res.status, 200)
    assert.match(res.headers.get('content-type') ?? '', /text\/plain/)
    const body = await res.text()
    for (const n of NAMES) assert.match(body, new RegExp(`^# TYPE ${n} `, 'm'), n)
    assert.match(body, /^dns_queries_total\{role="lb",qtype="A",rcode="NOERROR"\} 3$/m)
    assert.match(body, /^dns_queries_total\{role="lb",qtype="AAAA",rcode="NXDOMAIN"\} 1$/m)
    assert.match(body, /^dns_answer_seconds_bucket\{le="0.00025",role="lb"\} 0$/m)
    assert.match(body, /^dns_answer_seconds_bucket\{le="0.0005",role="lb"\} 1$/m)
    assert.match(body, /^dns_answer_seconds_bucket\{le="\+Inf",role="lb"\} 1$/m)
    assert.match(body, /^dns_answer_seconds_count\{role="lb"\} 1$/m)
    assert.match(body, /^# TYPE dns_answer_seconds histogram$/m)
    assert.match(body, /^probe_loss\{server="192.0.2.10"\} 0.25$/m)
    assert.match(body, /^mappings 1234$/m)
    assert.match(body, /^registrations_total\{result="accepted",reason="new"\} 1$/m)
    assert.match(body, /^cache_hits_total 5$/m)
    assert.match(body, /^process_cpu_seconds_total /m, 'process metrics on by default')
    // Counts made after a scrape show up in the next one (hot handles flush at scrape time).
    lb.countQuery('A', 'NOERROR')
    hits.inc()
    const again = await (await fetch(`http://127.0.0.1:${server.address.port}/metrics`)).text()
    assert.match(again, /^dns_queries_total\{role="lb",qtype="A",rcode="NOERROR"\} 4$/m)
    assert.match(again, /^cache_hits_total 6$/m)
    const json = await m.registry.getMetricsAsJSON()
    const hist = json.find((x) => x.name === 'dns_answer_seconds')!
    assert.ok(hist.values.some((v) => v.labels.role === 'lb' && v.labels.le === 0.0005 && v.value === 1), 'JSON export too')
    assert.is((await fetch(`http://127.0.0.1:${server.address.port}/`)).status, 404)
    assert.is((await fetch(`http://127.0.0.1:${server.address.port}/metrics`, {method: 'POST'})).status, 405)
  } finally {
    await server.close()
  }
})

test('serveMetrics listens on IPv6 loopback and refuses a busy port with one line', async () => {
  const m = createMetrics({processMetrics: false})
  let v6
  try {
    v6 = await serveMetrics('[::1]:0', m.registry)
  } catch (e) {
    console.log(`  (no IPv6 loopback here: ${(e as Error).message})`)
  }
  if (v6) {
    try {
      assert.is(String(v6.address).startsWith('[::1]:'), true)
      assert.is((await fetch(`http://[::1]:${v6.address.port}/metrics`)).status, 200)
    } finally {
      await v6.close()
    }
  }
  const blocker = createServer()
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r))
  const port = (blocker.address() as {port: number}).port
  try {
    await serveMetrics(`127.0.0.1:${port}`, m.registry)
    assert.unreachable()
  } catch (e) {
    assert.is((e as Error).message, `metrics: cannot listen on 127.0.0.1:${port}: address already in use`)
  } finally {
    blocker.close()
  }
  await serveMetrics('localhost:9153', m.registry).then(
    () => assert.unreachable(),
    (e: Error) => assert.match(e.message, /^metrics listen address "localhost:9153": expected ADDR:PORT/),
  )
})

test('close() returns even with a keep-alive connection open', async () => {
  const m = createMetrics({processMetrics: false})
  const server = await serveMetrics('127.0.0.1:0', m.registry)
  await (await fetch(`http://127.0.0.1:${server.address.port}/metrics`, {keepalive: true})).text()
  const t0 = Date.now()
  await server.close()
  assert.ok(Date.now() - t0 < 2000)
})

test('separate registries do not share values', () => {
  const a = createMetrics({processMetrics: false})
  const b = createMetrics({processMetrics: false})
  a.cacheHits.inc()
  assert.is.not(a.registry, b.registry)
  assert.is(a.forRole('lb'), a.forRole('lb'), 'forRole is cached')
})

// The hot-path handles count the same series prom-client's labels() does (the cost is bench/metrics-cost.ts's).
test('counting through forRole and through labels() lands in the same series', async () => {
  const m = createMetrics({processMetrics: false})
  const N = 20_000
  const qtypes = ['A', 'AAAA', 'NS', 'SOA']
  const bound = m.forRole('isp')
  for (let round = 0; round < 2; round++) for (let i = 0; i < N; i++) m.dnsQueries.labels('isp', qtypes[i & 3]!, 'NOERROR').inc()
  for (let round = 0; round < 2; round++) for (let i = 0; i < N; i++) bound.countQuery(qtypes[i & 3]!, 'NOERROR')
  for (let round = 0; round < 2; round++) for (let i = 0; i < N; i++) bound.observeAnswer(0.0003)
  // The totals are right: 2N counted through the handles plus 2N through labels(), in the same series.
  const body = await m.registry.metrics()
  const total = [...body.matchAll(/^dns_queries_total\{role="isp",qtype="[A-Z]+",rcode="NOERROR"\} (\d+)$/gm)].reduce((a, x) => a + Number(x[1]), 0)
  assert.is(total, 4 * N)
  assert.match(body, new RegExp(`^dns_answer_seconds_count\\{role="isp"\\} ${2 * N}$`, 'm'))
})

test.run()
