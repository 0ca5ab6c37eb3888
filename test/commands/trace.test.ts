// `glb trace` end to end against the in-process lab: two ISPs see two DNS-LBs, roles named, the LB explains.
// glb-test-timeout: 300
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {execFile} from 'node:child_process'
import {labAddresses, NAME, startTestbed, type Testbed, type TestbedOptions} from '../resolver/gslb-testbed.js'

const NET = 67
const ad = labAddresses(NET)
const ISP1 = ad.isp(1)
const ISP2 = ad.isp(2)

/** Runs the CLI asynchronously (the lab answers from this process). */
function glb(args: string[], timeoutMs = 20_000): Promise<{code: number; stdout: string; stderr: string; ms: number}> {
  const t0 = Date.now()
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/dev.js', ...args], {timeout: timeoutMs, env: {...process.env, NO_COLOR: '1'}}, (err, stdout, stderr) => {
      const code = err ? (typeof (err as {code?: unknown}).code === 'number' ? (err as {code: number}).code : -1) : 0
      resolve({code, stdout, stderr, ms: Date.now() - t0})
    })
  })
}

async function withLab(o: Partial<TestbedOptions>, fn: (tb: Testbed, base: string[]) => Promise<void>): Promise<void> {
  const tb = await startTestbed({net: NET, mapping: {[ISP1]: 'lb1', [ISP2]: 'lb2'}, ...o})
  try {
    await fn(tb, ['--server', tb.root, '--port', String(tb.port), '--timeout', '300'])
  } finally {
    await tb.stop()
  }
}

test('--json from two ISP addresses: two DNS-LBs, two answers, every hop named, the LB explains', async () => {
  await withLab({}, async (tb, base) => {
    const docs = []
    for (const isp of [ISP1, ISP2]) {
      const r = await glb(['trace', 'www.example.test', ...base, '--from', isp, '--json'])
      assert.is(r.code, 0, r.stderr + r.stdout)
      docs.push(JSON.parse(r.stdout))
    }
    for (const [i, doc] of docs.entries()) {
      const k = i + 1
      assert.is(doc.status, 'answer')
      assert.is(doc.source, ad.isp(k))
      assert.equal(doc.answer.map((a: {type: string; data: string}) => `${a.type} ${a.data}`), [`CNAME ${NAME}`, `A ${ad.content(k)}`])
      assert.equal(doc.hops.map((h: {role: string}) => h.role), ['root', 'root', 'DNS-A', 'DNS-A', 'DNS-B', `DNS-LB lb${k}`])
      const last = doc.hops.at(-1)
      assert.equal([last.server, last.nsid, last.roleFrom, last.ttl], [ad.lb(k), `glb dns-lb lb${k}`, 'nsid', 20])
      const b = doc.hops[4]
      assert.equal(b.referral.ns, [`lb${k}.${NAME}`, `lb${3 - k}.${NAME}`], 'DNS-B refers each ISP to its own LB first')
      assert.is(doc.explain.server, ad.lb(k))
      assert.is(doc.explain.qname, `_explain.${NAME}`)
      assert.equal(doc.explain.entries.map((e: {address: string}) => e.address), [ad.content(1), ad.content(2)])
      const chosen = doc.explain.entries.find((e: {words: string[]}) => e.words.includes('chosen'))
      assert.equal([chosen.address, chosen.fields.srtt, chosen.fields.loss, chosen.words], [ad.content(k), `${k * 5}.0ms`, '0%', ['up', 'chosen']])
    }
    assert.ok(tb.lbs[0]!.log.every((q) => q.from === ISP1) && tb.lbs[1]!.log.every((q) => q.from === ISP2))
  })
})

test('the table: one row per hop with role, referral, answer, TTL and RTT, then the explanation', async () => {
  await withLab({}, async (_tb, base) => {
    const r = await glb(['trace', 'www.example.test', ...base, '--from', ISP2])
    assert.is(r.code, 0, r.stderr)
    const out = r.stdout
    assert.match(out, /│ 5 │ 127\.67\.0\.20#\d+ +│ DNS-B +│ www\.glb\.example\.test\. A +│ NOERROR +│ -> www\.glb\.example\.test\./)
    assert.match(out, /NS lb2\.www\.glb\.example\.test\. 127\.67\.2\.1/)
    assert.match(out, /│ 6 │ 127\.67\.2\.1#\d+ +│ DNS-LB lb2 +│ www\.glb\.example\.test\. A +│ NOERROR aa +│ A 127\.67\.10\.2 +│ 20 +│ \d+\.\d +│/)
    assert.match(out, /_explain\.www\.glb\.example\.test\. TXT from 127\.67\.2\.1/)
    assert.match(out, /│ 127\.67\.10\.2 +│ 10\.0ms +│ 0% +│ up +│ 10\.0 +│ chosen/)
    assert.match(out, /answer from 127\.67\.2\.1 \(DNS-LB lb2\): 2 records, 6 queries/)
    assert.not.match(out, /\x1b\[/, 'no colour when stdout is not a TTY')
  })
})

test('roles are guessed from the replies when servers send no NSID', async () => {
  await withLab({nsid: false}, async (_tb, base) => {
    const r = await glb(['trace', NAME, ...base, '--from', ISP1, '--json'])
    const doc = JSON.parse(r.stdout)
    assert.equal(doc.hops.map((h: {role: string; roleFrom: string}) => `${h.role}/${h.roleFrom}`),
      ['root/guess', 'root/guess', 'other/guess', 'DNS-B/guess', 'DNS-LB/guess'])
    assert.ok(doc.explain, 'a guessed DNS-LB is still asked for its explanation')
  })
})

test('timeouts, a lame DNS-LB and a referral loop: hops shown, one clear line, exit 1, within the bound', async () => {
  const cases = [
    ['silent', /^glb: www\.glb\.example\.test\. A: no answer from the servers of www\.glb\.example\.test\.: 127\.67\.1\.1 \(lb1\.www\.glb\.example\.test\.\) did not answer within 300 ms; 127\.67\.2\.1/],
    ['refused', /^glb: www\.glb\.example\.test\. A: lame delegation: no server of www\.glb\.example\.test\. answers: 127\.67\.1\.1 \(lb1\.www\.glb\.example\.test\.\) answered REFUSED/],
    ['loop', /^glb: www\.glb\.example\.test\. A: referral loop at www\.glb\.example\.test\./],
  ] as const
  for (const [mode, want] of cases) {
    await withLab({lbModes: {lb1: mode, lb2: mode}}, async (_tb, base) => {
      const r = await glb(['trace', NAME, ...base, '--from', ISP1, '--time-limit', '3000'])
      assert.is(r.code, 1, `${mode}: ${r.stderr}`)
      assert.match(r.stderr, want, r.stderr)
      assert.is(r.stderr.trim().split('\n').length, 1, r.stderr)
      assert.match(r.stdout, /DNS-B/, 'the hops up to the failure are printed')
      assert.ok(r.ms < 10_000, `${mode}: ${r.ms} ms`)
      const j = await glb(['trace', NAME, ...base, '--from', ISP1, '--json'])
      assert.is(j.code, 1)
      const doc = JSON.parse(j.stdout)
      assert.is(doc.status, 'failed')
      assert.is(doc.failure.kind, mode === 'silent' ? 'timeout' : mode === 'refused' ? 'lame' : 'loop')
      assert.is(doc.error.code, 1)
      assert.ok(doc.hops.length >= 3)
    })
  }
})

test('usage errors exit 2', async () => {
  for (const args of [['trace', NAME, '--type', 'NOPE'], ['trace', NAME, '--server', 'not..a-name'], ['trace'], ['trace', NAME, '--from', 'x']]) {
    const r = await glb(args)
    assert.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`)
    assert.is(r.stderr.trim().split('\n').length, 1, r.stderr)
  }
})

test.run()
