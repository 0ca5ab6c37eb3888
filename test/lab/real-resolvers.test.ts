// Real unbound and BIND as the ISP resolver in a mini loopback lab: answers, egress address, qname minimisation.
// glb-test-timeout: 300
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {execFile, execFileSync} from 'node:child_process'
import {promisify} from 'node:util'
import {createSocket} from 'node:dgram'
import {existsSync} from 'node:fs'
import {startRealResolver} from '../../src/lab/real-resolvers.js'
import type {RealResolver, RealResolverKind} from '../../src/lab/real-resolvers.js'
import {startMiniAuth} from '../helpers/mini-auth.js'
import type {MiniAuth, SeenQuery} from '../helpers/mini-auth.js'
import {requires} from '../helpers/env.js'

const execFileAsync = promisify(execFile)
const ROOT = '127.0.0.9'
const DNS_A = '127.0.0.10'
const DNS_B = '127.0.0.20'
const ISP = '127.0.1.53'
const TARGET = 'www.glb.example.test'
const ANSWER = '127.0.10.1'

interface MiniLab {
  root: MiniAuth
  a: MiniAuth
  b: MiniAuth
  stop(): Promise<void>
}

/** Lab root -> DNS-A (example.test) -> DNS-B (glb.example.test), each NS name in-bailiwick with glue. */
async function startMiniLab(): Promise<MiniLab> {
  const started: MiniAuth[] = []
  try {
    const root = await startMiniAuth({address: ROOT, zone: '.', records: [
      {name: '.', type: 'NS', data: 'a.root-servers.test'},
      {name: 'a.root-servers.test', type: 'A', data: ROOT},
      {name: 'example.test', type: 'NS', data: 'ns1.example.test'},
      {name: 'ns1.example.test', type: 'A', data: DNS_A},
    ]})
    started.push(root)
    const a = await startMiniAuth({address: DNS_A, zone: 'example.test', records: [
      {name: 'example.test', type: 'NS', data: 'ns1.example.test'},
      {name: 'ns1.example.test', type: 'A', data: DNS_A},
      {name: 'glb.example.test', type: 'NS', data: 'b1.glb.example.test'},
      {name: 'b1.glb.example.test', type: 'A', data: DNS_B},
    ]})
    started.push(a)
    const b = await startMiniAuth({address: DNS_B, zone: 'glb.example.test', records: [
      {name: 'glb.example.test', type: 'NS', data: 'b1.glb.example.test'},
      {name: 'b1.glb.example.test', type: 'A', data: DNS_B},
      {name: TARGET, type: 'A', ttl: 20, data: ANSWER},
    ]})
    started.push(b)
    return {root, a, b, stop: async () => {
      await Promise.all(started.map((s) => s.stop()))
    }}
  } catch (err) {
    await Promise.all(started.map((s) => s.stop()))
    throw err
  }
}

/** Asks with dig, asynchronously: the mini-auth servers live in this process and must keep answering. */
async function dig(server: string, name: string): Promise<string> {
  const {stdout} = await execFileAsync('dig', ['@' + server, name, 'A', '+short', '+time=5', '+tries=1'], {timeout: 15_000})
  return stdout.trim()
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** Processes whose command line mentions `text` (pgrep exits 1 when there are none). */
function pgrep(text: string): string {
  try {
    return execFileSync('pgrep', ['-f', text], {encoding: 'utf8'}).trim()
  } catch {
    return ''
  }
}

async function assertStopsClean(r: RealResolver): Promise<void> {
  const {pid, runDir} = r
  await r.stop()
  assert.not.ok(alive(pid), `${r.kind} pid ${pid} still running after stop()`)
  assert.is(pgrep(runDir), '', `a process still mentions ${runDir}`)
  assert.not.ok(existsSync(runDir), `run dir ${runDir} left behind`)
}

const show = (qs: SeenQuery[]) => qs.map((q) => `${q.from} ${q.qname} ${q.qtype}`).join('; ')
const asked = (s: MiniAuth, name: string) => s.queries.filter((q) => q.qname.toLowerCase() === name)

// unbound and PowerDNS ask the intermediate labels with type A; BIND and Knot with NS (shared/interop README).
const minimisedType: Record<RealResolverKind, string> = {unbound: 'A', bind: 'NS'}
const need = requires(['root', 'unbound', 'named', 'dig'], test)

for (const kind of ['unbound', 'bind'] as const) {
  for (const mode of ['stub', 'root-hints'] as const) {
    need.test(`${kind} (${mode}) resolves through the mini lab, asks from its egress, minimises qnames`, async () => {
      const lab = await startMiniLab()
      let r: RealResolver | undefined
      try {
        r = await startRealResolver(kind, {
          listen: ISP, egress: ISP, zone: 'example.test', root: ROOT,
          ...(mode === 'stub' ? {auth: [DNS_A]} : {}),
        })
        assert.is(await dig(ISP, TARGET), ANSWER, `dig @${ISP} ${TARGET}; log: ${r.logs().slice(-2000)}`)

        const bq = asked(lab.b, TARGET)
        assert.ok(bq.length > 0, `DNS-B never asked for ${TARGET}: ${show(lab.b.queries)}`)
        for (const q of lab.b.queries) assert.is(q.from, ISP, `DNS-B saw a query from ${q.from}: ${show(lab.b.queries)}`)
        for (const q of lab.a.queries) assert.is(q.from, ISP, `DNS-A saw a query from ${q.from}`)
        assert.ok(bq.every((q) => !q.rd), 'upstream queries to DNS-B must have RD=0')

        // Qname minimisation: DNS-A is asked only for the next label down (glb.example.test), never the full name.
        const aMin = asked(lab.a, 'glb.example.test')
        assert.ok(aMin.some((q) => q.qtype === minimisedType[kind]),
          `DNS-A not asked glb.example.test ${minimisedType[kind]}: ${show(lab.a.queries)}`)
        assert.is(asked(lab.a, TARGET).length, 0, `DNS-A was asked the full name: ${show(lab.a.queries)}`)
        if (mode === 'root-hints') {
          // Iterating from the top: the root sees test. or example.test., never a deeper name.
          const rootSaw = lab.root.queries.map((q) => q.qname.toLowerCase())
          assert.ok(rootSaw.includes('example.test') || rootSaw.includes('test'), `root never asked: ${show(lab.root.queries)}`)
          assert.not.ok(rootSaw.some((n) => n.endsWith('glb.example.test')), `root asked too deep: ${show(lab.root.queries)}`)
          assert.ok(lab.root.queries.every((q) => q.from === ISP), `root saw another source: ${show(lab.root.queries)}`)
        } else {
          // The stub zone means nothing under example.test goes to the root.
          const under = lab.root.queries.filter((q) => q.qname.toLowerCase().endsWith('example.test'))
          assert.is(under.length, 0, `stub mode asked the root: ${show(under)}`)
        }
        if (process.env.GLB_TEST_VERBOSE) {
          for (const s of [lab.root, lab.a, lab.b]) console.log(`  ${kind} ${mode} ${s.address}: ${show(s.queries)}`)
        }
        await assertStopsClean(r)
      } finally {
        await r?.stop()
        await lab.stop()
      }
    })
  }
}

need.test('flushCache restarts the resolver so the next query goes upstream again', async () => {
  const lab = await startMiniLab()
  let r: RealResolver | undefined
  try {
    r = await startRealResolver('unbound', {listen: ISP, egress: ISP, zone: 'example.test', auth: [DNS_A]})
    assert.is(await dig(ISP, TARGET), ANSWER)
    lab.b.clear()
    assert.is(await dig(ISP, TARGET), ANSWER)
    assert.is(lab.b.queries.length, 0, 'second query should come from the cache')
    const before = r.pid
    await r.flushCache()
    assert.is.not(r.pid, before)
    assert.not.ok(alive(before), 'old process still running after flushCache')
    assert.is(await dig(ISP, TARGET), ANSWER)
    assert.ok(asked(lab.b, TARGET).length > 0, 'after flushCache DNS-B must be asked again')
    await assertStopsClean(r)
  } finally {
    await r?.stop()
    await lab.stop()
  }
})

need.test('non-53 ports: the resolver\'s own listener, and (unbound only) the stub server\'s', async () => {
  // DNS-A answers www.example.test itself, so no referral (which would always lead to port 53) is needed.
  const cases: Array<[RealResolverKind, number]> = [['unbound', 5354], ['bind', 53]]
  for (const [kind, authPort] of cases) {
    const a = await startMiniAuth({address: DNS_A, port: authPort, zone: 'example.test', records: [
      {name: 'www.example.test', type: 'A', data: '127.0.10.2'},
    ]})
    let r: RealResolver | undefined
    try {
      r = await startRealResolver(kind, {listen: ISP, egress: ISP, port: 5300, zone: 'example.test', root: ROOT,
        auth: [authPort === 53 ? DNS_A : `${DNS_A}@${authPort}`]})
      const {stdout} = await execFileAsync('dig', ['@' + ISP, '-p', '5300', 'www.example.test', 'A', '+short', '+time=5', '+tries=1'])
      assert.is(stdout.trim(), '127.0.10.2', `${kind} on port 5300 via ${DNS_A}#${authPort}`)
      assert.ok(a.queries.length > 0 && a.queries.every((q) => q.from === ISP))
      await assertStopsClean(r)
    } finally {
      await r?.stop()
      await a.stop()
    }
  }
})

need.test('BIND listen address is added to lo when missing and removed on stop', async () => {
  const addr = '127.0.1.54'
  const onLo = () => execFileSync('ip', ['-4', '-o', 'addr', 'show', 'dev', 'lo'], {encoding: 'utf8'}).includes(` inet ${addr}/`)
  if (onLo()) return // someone else put it there; this test cannot tell its own add from theirs
  const r = await startRealResolver('bind', {listen: addr, egress: addr, zone: 'example.test', root: ROOT})
  try {
    assert.ok(onLo(), `${addr} should be on lo while named runs`)
  } finally {
    await r.stop()
  }
  assert.not.ok(onLo(), `${addr} should be removed from lo after stop`)
})

need.test('a resolver that cannot start fails with one line naming it and its log tail', async () => {
  // A silent UDP socket on the port: unbound cannot bind, exits, and the error carries its log.
  const blocker = createSocket('udp4')
  await new Promise<void>((res, rej) => {
    blocker.once('error', rej)
    blocker.bind(53, ISP, () => res())
  })
  try {
    const err = await startRealResolver('unbound', {listen: ISP, egress: ISP, zone: 'example.test', root: ROOT})
      .then(() => undefined, (e: Error) => e)
    assert.ok(err, 'start should fail')
    assert.match(err!.message, /^unbound at 127\.0\.1\.53:53 did not start \(exited \d+\)/)
    assert.match(err!.message, /log tail: .*\S/)
    assert.not.match(err!.message, /\n/)
  } finally {
    await new Promise<void>((res) => blocker.close(() => res()))
  }
})

need.test('an address already answering DNS is refused before spawning', async () => {
  const squatter = await startMiniAuth({address: ISP, zone: 'example.test', records: []})
  try {
    const err = await startRealResolver('unbound', {listen: ISP, egress: ISP, zone: 'example.test', root: ROOT})
      .then(() => undefined, (e: Error) => e)
    assert.match(err?.message ?? '', /something already answers DNS at 127\.0\.1\.53:53/)
  } finally {
    await squatter.stop()
  }
})

test('options are checked: loopback only, BIND stubs on port 53, a way to find the lab', async () => {
  const cases: Array<[RealResolverKind, Parameters<typeof startRealResolver>[1], RegExp]> = [
    ['unbound', {listen: '10.0.0.1', egress: ISP, zone: 'example.test', root: ROOT}, /listen 10\.0\.0\.1 is not an IPv4 address in 127/],
    ['unbound', {listen: ISP, egress: ISP, zone: 'example.test', auth: ['192.0.2.1']}, /auth 192\.0\.2\.1 is not/],
    ['bind', {listen: ISP, egress: ISP, zone: 'example.test', auth: ['127.0.0.10@5353']}, /take no port/],
    ['unbound', {listen: ISP, egress: ISP, zone: 'example.test'}, /give auth .* or root/],
  ]
  for (const [kind, opts, re] of cases) {
    const err = await startRealResolver(kind, opts).then(() => undefined, (e: Error) => e)
    assert.match(err?.message ?? '(no error)', re)
  }
})

test.run()
