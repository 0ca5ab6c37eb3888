// `glb serve lb --workers 2`: one address served by two processes. Both answer (TCP connections alternate
// between them; NSID names the worker), the follower answers what the leader measured without probing itself
// (the content servers see one prober's rate), a killed worker is restarted, SIGTERM stops every process with
// exit 0, workers stop by themselves if the primary is killed, and a state that cannot serve stops them all.
// glb-test-timeout: 180
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {spawn, type ChildProcess} from 'node:child_process'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {startContentServers, type ContentServers} from '../../../src/lab/content-server.js'
import {requires} from '../../helpers/env.js'
import {runTool} from '../../helpers/run-tool.js'

const root = new URL('../../../', import.meta.url).pathname
const LB = '127.0.52.1'
const LB_PORT = 28252
const S1 = '127.0.52.11', S2 = '127.0.52.12'
const HTTP_PORT = 28152
const INTERVAL_MS = 200

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const alive = (pid: number): boolean => { try { process.kill(pid, 0); return true } catch { return false } }

interface Served {
  child: ChildProcess
  /** pid of each worker by rank, from their --json "listening" lines (a restarted worker replaces its entry). */
  workers: Map<number, number>
  stderr: string[]
  stdout: string[]
  exited: Promise<number | null>
}

function serve(stateFile: string): Served {
  const child = spawn(process.execPath, ['bin/dev.js', 'serve', 'lb', '--state', stateFile, '--json', '--workers', '2'], {cwd: root, env: {...process.env, NO_COLOR: '1'}, stdio: ['ignore', 'pipe', 'pipe']})
  const s: Served = {child, workers: new Map(), stderr: [], stdout: [], exited: new Promise((r) => child.on('close', (code) => r(code)))}
  child.stderr!.setEncoding('utf8').on('data', (d: string) => s.stderr.push(...d.split('\n').filter(Boolean)))
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    for (const line of d.split('\n').filter(Boolean)) {
      s.stdout.push(line)
      const m = JSON.parse(line) as {worker?: number; pid?: number}
      if (m.worker && m.pid) s.workers.set(m.worker, m.pid)
    }
  })
  return s
}

async function until(what: string, check: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await sleep(50)
  }
}

/** One query over a fresh TCP connection: the answer and the NSID of the worker that gave it. */
async function askTcp(): Promise<{answer: string; nsid: string}> {
  const r = await runTool('dig', [`@${LB}`, '-p', String(LB_PORT), '+tcp', '+nsid', '+norec', '+time=2', '+tries=1', 'www.glb.example.test', 'A'], {timeoutMs: 10_000})
  const answer = /www\.glb\.example\.test\.\s+\d+\s+IN\s+A\s+(\S+)/.exec(r.stdout)?.[1] ?? ''
  const nsid = /NSID: .*\("([^"]+)"\)/.exec(r.stdout)?.[1] ?? ''
  return {answer, nsid}
}

function writeState(file: string, pool: string[]): void {
  writeFileSync(file, JSON.stringify({
    listen: [`${LB}:${LB_PORT}`],
    label: 'lbw',
    zone: 'www.glb.example.test.',
    ttl: 5,
    pool: {servers: pool.map((address) => ({address}))},
    probe: {method: 'http', port: HTTP_PORT, interval: `${INTERVAL_MS}ms`, timeout: '150ms'},
    measurements: {interval: '300ms'},
  }, null, 2))
}

async function stopAll(s: Served): Promise<number | null> {
  if (s.child.exitCode === null) s.child.kill('SIGTERM')
  const timer = setTimeout(() => { s.child.kill('SIGKILL'); for (const pid of s.workers.values()) if (alive(pid)) process.kill(pid, 'SIGKILL') }, 15_000)
  const code = await s.exited
  clearTimeout(timer)
  return code
}

requires(['dig'], test).test('two workers answer alike from one prober; a killed worker comes back; SIGTERM stops them all', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'glb-lb-workers-'))
  const stateFile = join(dir, 'lbw.json')
  writeState(stateFile, [S1, S2])
  const cs: ContentServers = await startContentServers({matrix: {servers: {[S1]: {from: {[LB]: 40}}, [S2]: {from: {[LB]: 5}}}}, addresses: [S1, S2], ports: {http: HTTP_PORT, udp: null, dns: null}})
  const s = serve(stateFile)
  try {
    await until('both workers listening', () => s.workers.size === 2 || s.child.exitCode !== null, 30_000)
    assert.is(s.workers.size, 2, s.stderr.join(' | '))
    assert.is.not(s.workers.get(1), s.workers.get(2))

    // Both workers answer, and both answer the nearer server once it is measured.
    const seen = new Map<string, string>()
    await until('S2 from both workers', async () => {
      const r = await askTcp()
      if (r.nsid) seen.set(r.nsid, r.answer)
      return seen.get('glb dns-lb lbw worker 1') === S2 && seen.get('glb dns-lb lbw worker 2') === S2
    }, 20_000)
    for (let i = 0; i < 6; i++) assert.is((await askTcp()).answer, S2, 'every answer, from either worker, is the nearer server')

    // One prober: over 3 s each server sees about 3000 / INTERVAL_MS probes, not twice that.
    const before = cs.hits.get(S1) ?? 0
    await sleep(3000)
    const probes = (cs.hits.get(S1) ?? 0) - before
    assert.ok(probes >= 8 && probes <= 22, `${probes} probes of ${S1} in 3 s at one per ${INTERVAL_MS} ms`)

    // A follower that dies is restarted and answers again, the same answer.
    const oldPid = s.workers.get(2)!
    process.kill(oldPid, 'SIGKILL')
    await until('worker 2 restarted', () => (s.workers.get(2) ?? oldPid) !== oldPid, 15_000)
    seen.clear()
    await until('the new worker 2 answers S2', async () => {
      const r = await askTcp()
      if (r.nsid) seen.set(r.nsid, r.answer)
      return seen.get('glb dns-lb lbw worker 2') === S2
    }, 15_000)

    const pids = [...s.workers.values()]
    assert.is(await stopAll(s), 0, s.stderr.join(' | '))
    await until('every worker gone', () => pids.every((pid) => !alive(pid)), 5000)
  } finally {
    await stopAll(s)
    await cs.close()
    rmSync(dir, {recursive: true, force: true})
  }
})

test('workers stop by themselves when their primary is killed (kill -9)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'glb-lb-workers-'))
  const stateFile = join(dir, 'lbw.json')
  writeState(stateFile, [S1])
  const s = serve(stateFile)
  try {
    await until('both workers listening', () => s.workers.size === 2 || s.child.exitCode !== null, 30_000)
    assert.is(s.workers.size, 2, s.stderr.join(' | '))
    const pids = [...s.workers.values()]
    s.child.kill('SIGKILL')
    await until('every worker gone', () => pids.every((pid) => !alive(pid)), 5000)
  } finally {
    await stopAll(s)
    rmSync(dir, {recursive: true, force: true})
  }
})

test('a state that cannot serve (the address is in use) stops every worker: one line, exit 1', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'glb-lb-workers-'))
  const stateFile = join(dir, 'lbw.json')
  writeState(stateFile, [S1])
  const blocker = spawn(process.execPath, ['-e', `require('dgram').createSocket('udp4').bind(${LB_PORT}, '${LB}'); setTimeout(() => {}, 60000)`], {stdio: 'ignore'})
  try {
    await sleep(500)
    const s = serve(stateFile)
    const code = await Promise.race([s.exited, sleep(30_000).then(() => 'hung')])
    if (code === 'hung') await stopAll(s)
    assert.is(code, 1, s.stderr.join(' | '))
    // Under --json the error is one JSON line on stdout.
    const last = JSON.parse(s.stdout.at(-1) ?? '{}') as {error?: {message: string; code: number}}
    assert.match(last.error?.message ?? '', /^worker \d exited \(1\) before it was serving; stopping$/, s.stdout.join(' | '))
    assert.is(last.error?.code, 1)
  } finally {
    blocker.kill('SIGKILL')
    rmSync(dir, {recursive: true, force: true})
  }
})

test.run()
