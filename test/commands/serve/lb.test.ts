// `glb serve lb` as a user runs it: a subprocess beside fixture content servers, asked with dig (NSID, the
// answer, the explain TXT), reloaded with SIGHUP, stopped with SIGTERM (exit 0, measurements on disk), and
// restarted from those measurements; bad state files and missing flags exit 1 and 2.
// glb-test-timeout: 240
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {spawn} from 'node:child_process'
import type {ChildProcess} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {startContentServers} from '../../../src/lab/content-server.js'
import {requires} from '../../helpers/env.js'
import {runTool} from '../../helpers/run-tool.js'

const root = new URL('../../../', import.meta.url).pathname
const LB = '127.0.51.1'
const LB_PORT = 28251
const S1 = '127.0.51.11', S2 = '127.0.51.12'
const HTTP_PORT = 28151

interface Served {
  child: ChildProcess
  stdout: string[]
  stderr: string[]
  exited: Promise<number | null>
}

/** Starts `glb serve lb` and resolves once it printed its --json "listening" line. */
async function serve(stateFile: string, extra: string[] = []): Promise<Served> {
  const child = spawn(process.execPath, ['bin/dev.js', 'serve', 'lb', '--state', stateFile, '--json', ...extra], {cwd: root, env: {...process.env, NO_COLOR: '1'}, stdio: ['ignore', 'pipe', 'pipe']})
  const s: Served = {child, stdout: [], stderr: [], exited: new Promise((r) => child.on('close', (code) => r(code)))}
  child.stderr!.setEncoding('utf8').on('data', (d: string) => s.stderr.push(...d.split('\n').filter(Boolean)))
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line within 30 s: ${s.stderr.join(' | ')}`)), 30_000)
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      s.stdout.push(...d.split('\n').filter(Boolean))
      if (s.stdout.some((l) => l.includes('"listening"'))) (clearTimeout(timer), resolve())
    })
    child.on('close', (code) => (clearTimeout(timer), reject(new Error(`exited ${code}: ${s.stderr.join(' | ')}`))))
  })
  return s
}

async function stop(s: Served, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  if (s.child.exitCode === null) s.child.kill(signal)
  const timer = setTimeout(() => s.child.kill('SIGKILL'), 10_000)
  const code = await s.exited
  clearTimeout(timer)
  return code
}

const dig = (args: string[]) => runTool('dig', [`@${LB}`, '-p', String(LB_PORT), '+norec', '+time=2', '+tries=1', ...args], {timeoutMs: 10_000})
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

function writeState(file: string, extra: Record<string, unknown> = {}): void {
  writeFileSync(file, JSON.stringify({
    listen: [`${LB}:${LB_PORT}`],
    label: 'lb5',
    zone: 'www.glb.example.test.',
    ttl: 5,
    pool: {servers: [{address: S1}, {address: S2}]},
    probe: {method: 'http', port: HTTP_PORT, interval: '200ms', timeout: '150ms'},
    measurements: {interval: '300ms'},
    ...extra,
  }, null, 2))
}

requires(['dig'], test).test('serves the nearest server with NSID and explain, reloads on SIGHUP, persists, and restarts from what it persisted', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'glb-serve-lb-'))
  const stateFile = join(dir, 'lb5.json')
  writeState(stateFile)
  let cs = await startContentServers({matrix: {servers: {[S1]: {from: {[LB]: 40}}, [S2]: {from: {[LB]: 5}}}}, addresses: [S1, S2], ports: {http: HTTP_PORT, udp: null, dns: null}})
  let s: Served | undefined
  try {
    s = await serve(stateFile, ['--metrics', `${LB}:28351`])
    let answer = ''
    for (let i = 0; i < 60 && answer !== S2; i++) {
      answer = (await dig(['+short', 'www.glb.example.test', 'A'])).stdout.trim()
      if (answer !== S2) await sleep(100)
    }
    assert.is(answer, S2, 'the nearer server (5 ms) is answered')
    const full = await dig(['+nsid', 'www.glb.example.test', 'A'])
    assert.match(full.stdout, /NSID: .*\("glb dns-lb lb5"\)/)
    assert.match(full.stdout, /status: NOERROR/)
    assert.match(full.stdout, /flags: qr aa;/)
    assert.match(full.stdout, /www\.glb\.example\.test\.\s+5\s+IN\s+A\s+127\.0\.51\.12/)
    const explain = await dig(['+short', '_explain.www.glb.example.test', 'TXT'])
    assert.match(explain.stdout, /^"answer=127\.0\.51\.12 policy=lowest-score ttl=5 /)
    assert.match(explain.stdout, /"127\.0\.51\.12 srtt=[\d.]+ms spread=[\d.]+ms loss=0% up score=[\d.]+ chosen/)

    // Metrics: queries by type and rcode, probe figures per server.
    const text = await (await fetch(`http://${LB}:28351/metrics`)).text()
    const queries = Number(/dns_queries_total\{role="lb",qtype="A",rcode="NOERROR"\} (\d+)/.exec(text)?.[1] ?? 0)
    assert.ok(queries >= 2, `dns_queries_total A NOERROR = ${queries}`)
    const rtt = (server: string) => Number(new RegExp(`probe_rtt_seconds\\{server="${server}"\\} ([\\d.e-]+)`).exec(text)?.[1] ?? NaN)
    // Never below the matrix delay; a loaded machine only adds (a cold subprocess more so), so compare the two.
    assert.ok(rtt(S2) >= 0.004 && rtt(S2) < rtt(S1) && rtt(S1) >= 0.039, `probe_rtt_seconds ${rtt(S2)} (5 ms) vs ${rtt(S1)} (40 ms)`)
    assert.match(text, /probe_up\{server="127\.0\.51\.11"\} 1/)

    // A reload (SIGHUP) with a new answer TTL takes effect without a restart.
    writeState(stateFile, {ttl: 17})
    s.child.kill('SIGHUP')
    let ttl = ''
    for (let i = 0; i < 50 && ttl !== '17'; i++) {
      ttl = /www\.glb\.example\.test\.\s+(\d+)\s+IN\s+A/.exec((await dig(['www.glb.example.test', 'A'])).stdout)?.[1] ?? ''
      if (ttl !== '17') await sleep(100)
    }
    assert.is(ttl, '17', 'new TTL after SIGHUP')

    await sleep(400) // one persist interval
    assert.is(await stop(s), 0, `exit code; stderr: ${s.stderr.join(' | ')}`)
    const file = join(dir, 'lb5.measurements.json')
    assert.ok(existsSync(file))
    const saved = JSON.parse(readFileSync(file, 'utf8'))
    assert.equal(saved.answer.A, [S2])

    // Restart with every content server gone: until the down threshold is reached, the persisted choice
    // stands (a fresh start would answer both servers).
    await cs.close()
    cs = undefined as never
    s = await serve(stateFile)
    const first = (await dig(['+short', 'www.glb.example.test', 'A'])).stdout.trim().split('\n')
    assert.equal(first, [S2], 'answered from the persisted measurements')
    assert.is(await stop(s), 0)
  } finally {
    if (s) await stop(s, 'SIGKILL')
    await cs?.close()
    rmSync(dir, {recursive: true, force: true})
  }
})

test('a bad state file exits 1 with one line naming the field; a missing --state exits 2', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'glb-serve-lb-'))
  try {
    const bad = join(dir, 'bad.json')
    writeFileSync(bad, JSON.stringify({label: 'lb1', zone: 'www.glb.example.test.', pool: {servers: [{address: '300.1.1.1'}]}}))
    const r = await runTool(process.execPath, [join(root, 'bin/dev.js'), 'serve', 'lb', '--state', bad], {timeoutMs: 30_000})
    assert.is(r.code, 1)
    assert.match(r.stderr, /bad\.json: pool/)
    assert.is(r.stderr.trim().split('\n').length, 1, r.stderr)
    const u = await runTool(process.execPath, [join(root, 'bin/dev.js'), 'serve', 'lb'], {timeoutMs: 30_000})
    assert.is(u.code, 2)
  } finally {
    rmSync(dir, {recursive: true, force: true})
  }
})

test.run()
