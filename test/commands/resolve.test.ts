// `glb resolve` end to end against the in-process lab: records and TTLs, exit codes, one-line reasons, --json.
// glb-test-timeout: 300
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {execFile} from 'node:child_process'
import {runAuthorityServer} from '../helpers/servers.js'
import {labAddresses, NAME, startTestbed, type Testbed, type TestbedOptions} from '../resolver/gslb-testbed.js'

const NET = 68
const ad = labAddresses(NET)

function glb(args: string[]): Promise<{code: number; stdout: string; stderr: string}> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/dev.js', ...args], {timeout: 20_000, env: {...process.env, NO_COLOR: '1'}}, (err, stdout, stderr) => {
      resolve({code: err ? (typeof (err as {code?: unknown}).code === 'number' ? (err as {code: number}).code : -1) : 0, stdout, stderr})
    })
  })
}

async function withLab(o: Partial<TestbedOptions>, fn: (tb: Testbed, base: string[]) => Promise<void>): Promise<void> {
  const tb = await startTestbed({net: NET, mapping: {[ad.isp(2)]: 'lb2'}, ...o})
  try {
    await fn(tb, ['--server', tb.root, '--port', String(tb.port), '--timeout', '300'])
  } finally {
    await tb.stop()
  }
}

test('prints the CNAME chain and the final records with their TTLs; exit 0', async () => {
  await withLab({}, async (_tb, base) => {
    const r = await glb(['resolve', 'www.example.test', ...base, '--from', ad.isp(2)])
    assert.is(r.code, 0, r.stderr)
    assert.equal(r.stdout.trim().split('\n'), [
      `www.example.test.\t300\tIN\tCNAME\t${NAME}`,
      `${NAME}\t20\tIN\tA\t${ad.content(2)}`,
    ])
    const txt = await glb(['resolve', 'big.example.test', '--type', 'txt', ...base])
    assert.is(txt.code, 0, txt.stderr)
    assert.match(txt.stdout, /^big\.example\.test\.\t300\tIN\tTXT\t"0 x+" "1 x+"/)
  })
})

test('NXDOMAIN, NODATA and failures: one line on stderr, exit 1; --json keeps the document', async () => {
  await withLab({lbModes: {lb1: 'silent', lb2: 'silent'}}, async (_tb, base) => {
    const cases: Array<[string[], RegExp]> = [
      [['nope.example.test'], /^glb: nope\.example\.test\. A: NXDOMAIN, the name does not exist \(from 127\.68\.0\.10, zone example\.test\.\)$/],
      [['mail.example.test', '--type', 'AAAA'], /^glb: mail\.example\.test\. has no AAAA records \(NODATA\) \(from 127\.68\.0\.10, zone example\.test\.\)$/],
      [['www.example.test', '--time-limit', '2000'], /^glb: www\.example\.test\. A: no answer from the servers of www\.glb\.example\.test\.( for [^:]+)?: 127\.68\.1\.1 \(lb1\.www\.glb\.example\.test\.\) did not answer within 300 ms; 127\.68\.2\.1 .*$/],
    ]
    for (const [args, want] of cases) {
      const r = await glb(['resolve', ...args, ...base])
      assert.is(r.code, 1, `${args.join(' ')}: ${r.stderr}`)
      assert.match(r.stderr.trim(), want)
      assert.is(r.stderr.trim().split('\n').length, 1)
      assert.is(r.stdout, '')
    }
    const j = await glb(['resolve', 'nope.example.test', ...base, '--json'])
    assert.is(j.code, 1)
    const doc = JSON.parse(j.stdout)
    assert.equal([doc.status, doc.rcode, doc.authority[0].type, doc.authority[0].ttl, doc.error.code], ['nxdomain', 'NXDOMAIN', 'SOA', 60, 1])
  })
})

test('--json with an answer; --no-qmin; usage errors exit 2', async () => {
  await withLab({}, async (tb, base) => {
    const r = await glb(['resolve', NAME, ...base, '--no-qmin', '--json'])
    assert.is(r.code, 0, r.stderr)
    const doc = JSON.parse(r.stdout)
    assert.equal(doc.answer, [{name: NAME, type: 'A', ttl: 20, data: ad.content(1)}])
    assert.equal(doc.answeredBy, {server: ad.lb(1), zone: NAME, nsid: 'glb dns-lb lb1'})
    assert.equal(tb.logs.get(tb.root)!.map((q) => q.qname), [NAME], '--no-qmin sends the full name to the root')
    for (const args of [['resolve', NAME, '--type', 'BOGUS'], ['resolve', NAME, '--port', '0'], ['resolve', 'bad..name'], ['resolve', NAME, '--source', 'nope']]) {
      const u = await glb(args)
      assert.is(u.code, 2, `${args.join(' ')}: ${u.stderr}`)
    }
  })
})

test('--server takes a host name, looked up at GLB_RESOLVER; one that does not resolve exits 1 with one line', async () => {
  await withLab({}, async (tb) => {
    const dns = await runAuthorityServer({
      listen: ['127.0.76.53'],
      zones: [{
        origin: 'names.test.', ttl: 60,
        soa: {mname: 'ns.names.test.', rname: 'h.names.test.', serial: 1, refresh: 60, retry: 60, expire: 600, minimum: 5},
        records: [{name: '@', type: 'NS', data: 'ns.names.test.'}, {name: 'ns', type: 'A', data: '127.0.76.53'}, {name: 'root', type: 'A', data: tb.root}],
      }],
    }, {address: '127.0.76.53'})
    process.env.GLB_RESOLVER = `127.0.76.53:${dns.port}` // the glb child inherits it
    try {
      const base = ['--port', String(tb.port), '--timeout', '300', '--json']
      const r = await glb(['resolve', 'www.example.test', '--server', 'root.names.test', '--from', ad.isp(2), ...base])
      assert.is(r.code, 0, r.stderr)
      assert.equal(JSON.parse(r.stdout).answer.at(-1).data, ad.content(2))
      const nx = await glb(['resolve', 'www.example.test', '--server', 'nothere.names.test', '--port', String(tb.port)])
      assert.is(nx.code, 1, nx.stderr)
      assert.match(nx.stderr, /^glb: --server: host name "nothere\.names\.test" does not resolve at 127\.0\.76\.53:\d+ \(ENOTFOUND\)\n$/)
    } finally {
      delete process.env.GLB_RESOLVER
      await dns.close()
    }
  })
})

test.run()
