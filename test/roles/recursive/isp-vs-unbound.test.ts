// glb resolve and glb serve isp against a real unbound as the same ISP's resolver, in a port-53 loopback lab.
// glb-test-timeout: 300
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {execFile, spawn, type ChildProcess} from 'node:child_process'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {startRealResolver, type RealResolver} from '../../../src/lab/real-resolvers.js'
import {labAddresses, NAME, showLog, startTestbed, type Testbed} from '../../resolver/gslb-testbed.js'
import {requires} from '../../helpers/env.js'

const NET = 64
const ad = labAddresses(NET)
const need = requires(['root', 'unbound', 'dig'], test)
/** glb serve isp's egress for ISP k (unbound's is ad.isp(k)); DNS-B maps both to the same DNS-LB. */
const ourEgress = (k: number) => `127.${NET}.${k}.55`

const QUESTIONS: Array<[string, string]> = [
  ['www.example.test', 'A'], [NAME, 'A'], ['mail.example.test', 'A'], ['mail.example.test', 'AAAA'],
  ['nope.example.test', 'A'], ['example.test', 'NS'], ['ns1.example.test', 'A'], ['big.example.test', 'TXT'],
]

interface Outcome {
  status: string
  answer: string[] // "name TYPE data", TTLs left out (they count down differently in each cache)
  ttls: number[]
}

function run(cmd: string, args: string[], timeoutMs = 20_000): Promise<{code: number; stdout: string; stderr: string}> {
  return new Promise((resolve) => {
    execFile(cmd, args, {timeout: timeoutMs, env: {...process.env, NO_COLOR: '1'}}, (err, stdout, stderr) => {
      resolve({code: err ? (typeof (err as {code?: unknown}).code === 'number' ? (err as {code: number}).code : -1) : 0, stdout, stderr})
    })
  })
}

/** dig's view: status and answer records (TXT data as dig prints it, unquoted and joined). */
async function dig(server: string, name: string, type: string): Promise<Outcome> {
  const r = await run('dig', ['@' + server, name, type, '+time=5', '+tries=1', '+noall', '+comments', '+answer'])
  const status = /status: (\w+)/.exec(r.stdout)?.[1] ?? `no reply: ${r.stdout}${r.stderr}`
  const lines = r.stdout.split('\n').filter((l) => l && !l.startsWith(';'))
  const parsed = lines.map((l) => {
    const [owner, ttl, , rtype, ...rest] = l.split(/\s+/)
    return {text: `${owner!.toLowerCase()} ${rtype} ${normalise(rtype!, rest.join(' '))}`, ttl: Number(ttl)}
  })
  return {status, answer: parsed.map((p) => p.text).sort(), ttls: parsed.map((p) => p.ttl)}
}

function normalise(type: string, data: string): string {
  return type === 'TXT' ? (data.match(/"((?:[^"\\]|\\.)*)"/g) ?? []).map((s) => s.slice(1, -1)).join('|') : data.toLowerCase()
}

/** glb resolve --json's view, in the same form. */
async function glbResolve(name: string, type: string, from: string): Promise<Outcome> {
  const r = await run(process.execPath, ['bin/dev.js', 'resolve', name, '--type', type, '--from', from, '--server', ad.root, '--json'])
  const doc = JSON.parse(r.stdout)
  const status = doc.status === 'failed' ? 'SERVFAIL' : doc.rcode
  const answer = (doc.answer ?? []).map((a: {name: string; type: string; data: string}) => `${a.name} ${a.type} ${normalise(a.type, a.data)}`).sort()
  return {status, answer, ttls: (doc.answer ?? []).map((a: {ttl: number}) => a.ttl)}
}

/** Starts `glb serve isp` as its own process and resolves once it says it listens. */
async function startGlbIsp(dir: string, listen: string, egress: string): Promise<ChildProcess> {
  const state = join(dir, `isp-${listen}.json`)
  writeFileSync(state, JSON.stringify({listen: [listen], egress, root: [ad.root], queryTimeout: '500ms', resolutionTimeout: '4s'}))
  const child = spawn(process.execPath, ['bin/dev.js', 'serve', 'isp', '--state', state], {stdio: ['ignore', 'pipe', 'pipe']})
  let err = ''
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`glb serve isp did not start: ${err}`)), 15_000)
    child.stderr!.on('data', (b: Buffer) => {
      err += b.toString()
      if (/listening on/.test(err)) { clearTimeout(timer); resolve() }
    })
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`glb serve isp exited ${code}: ${err}`)) })
  })
  return child
}

async function stopChild(c: ChildProcess | undefined): Promise<void> {
  if (!c || c.exitCode !== null || c.signalCode !== null) return
  const exited = new Promise((r) => c.once('exit', r))
  c.kill('SIGTERM')
  await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))])
  if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
}

need.test('glb resolve and glb serve isp agree with unbound for each ISP; serve isp answers repeats from its cache', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'glb-isp-vs-unbound-'))
  let tb: Testbed | undefined
  const unbounds: RealResolver[] = []
  const isps: ChildProcess[] = []
  try {
    // One NS per referral: given two, unbound picks either DNS-LB at random (both are within its RTT band),
    // where glb asks the first; with one, the mapped LB is the only choice and the answers must agree.
    tb = await startTestbed({net: NET, port: 53, answerTtl: 2, referralTtl: 600, singleNs: true,
      mapping: {[ad.isp(1)]: 'lb1', [ad.isp(2)]: 'lb2', [ourEgress(1)]: 'lb1', [ourEgress(2)]: 'lb2'}})
    for (const k of [1, 2]) {
      unbounds.push(await startRealResolver('unbound', {listen: ad.isp(k), egress: ad.isp(k), zone: 'example.test', root: ad.root}))
      // glb's DNS-ISP listens beside unbound with its own egress, which DNS-B maps to the same LB.
      isps.push(await startGlbIsp(dir, `127.${NET}.${k}.54`, ourEgress(k)))
    }
    for (const k of [1, 2]) {
      for (const [name, type] of QUESTIONS) {
        const ub = await dig(ad.isp(k), name, type)
        const ours = await dig(`127.${NET}.${k}.54`, name, type)
        const resolved = await glbResolve(name, type, ad.isp(k))
        const what = `ISP ${k}: ${name} ${type}`
        assert.is(ours.status, ub.status, `${what}: serve isp vs unbound; unbound log: ${unbounds[k - 1]!.logs().slice(-500)}`)
        assert.equal(ours.answer, ub.answer, `${what}: serve isp vs unbound`)
        assert.is(resolved.status, ub.status, `${what}: glb resolve vs unbound`)
        assert.equal(resolved.answer, ub.answer, `${what}: glb resolve vs unbound`)
      }
      const lbAnswer = (await dig(`127.${NET}.${k}.54`, NAME, 'A')).answer
      assert.equal(lbAnswer, [`${NAME} A ${ad.content(k)}`], `ISP ${k} is sent to its own DNS-LB`)
    }
    // Each ISP's DNS-LB saw only that ISP's egresses.
    for (const k of [1, 2]) assert.ok(tb.lbs[k - 1]!.log.every((q) => q.from === ad.isp(k) || q.from === ourEgress(k)), showLog(tb.lbs[k - 1]!.log))

    // Repeats from glb serve isp come from its cache: no upstream query at all (the LB answer TTL is 2 s, so be quick).
    const ours = () => [...tb!.logs.values()].flat().filter((q) => q.from === ourEgress(1))
    tb.clear()
    for (const [name, type] of QUESTIONS.filter(([n]) => n !== NAME && n !== 'www.example.test')) await dig(`127.${NET}.1.54`, name, type)
    assert.equal(ours(), [], `upstream queries for cached answers: ${showLog(ours())}`)

    // After the LB answer's TTL (2 s) the DNS-LB is asked again, and only the DNS-LB: the referral is still cached.
    await new Promise((r) => setTimeout(r, 2200))
    tb.clear()
    assert.equal((await dig(`127.${NET}.1.54`, NAME, 'A')).answer, [`${NAME} A ${ad.content(1)}`])
    assert.equal(tb.lbs[0]!.log.filter((q) => q.from === ourEgress(1)).map((q) => q.qname), [NAME])
    assert.is(ours().length, 1, `only the DNS-LB is asked: ${showLog(ours())}`)
  } finally {
    for (const c of isps) await stopChild(c)
    for (const u of unbounds) await u.stop()
    await tb?.stop()
    rmSync(dir, {recursive: true, force: true})
  }
})

test.run()
