// A glb process started with GLB_PARENT_PID (as `glb lab up` and a --workers primary start theirs) stops itself
// when that parent dies without stopping it (kill -9), instead of living on as an orphan holding its address.
// glb-test-timeout: 90
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {spawn} from 'node:child_process'
import {join} from 'node:path'

const root = new URL('../..', import.meta.url).pathname
const alive = (pid: number): boolean => { try { process.kill(pid, 0); return true } catch { return false } }
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** A parent process that starts `glb ARGS` (with GLB_PARENT_PID = its own pid unless told otherwise), prints the child's pid, and waits. */
function parentOf(args: string[], parentPid: 'self' | 'none'): {pid: number; childPid: Promise<number>} {
  const script = `
    const {spawn} = require('node:child_process')
    const env = {...process.env}
    ${parentPid === 'self' ? 'env.GLB_PARENT_PID = String(process.pid)' : 'delete env.GLB_PARENT_PID'}
    const c = spawn(process.execPath, ${JSON.stringify([join(root, 'bin/dev.js'), ...args])}, {env, stdio: ['ignore', 'ignore', 'pipe']})
    c.stderr.on('data', (d) => { if (/listening/.test(String(d))) console.log(c.pid) })
    setTimeout(() => {}, 120000)`
  const p = spawn(process.execPath, ['-e', script], {stdio: ['ignore', 'pipe', 'inherit'], detached: true})
  const childPid = new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the child did not start listening within 30 s')), 30_000)
    p.stdout!.on('data', (d: Buffer) => { clearTimeout(timer); resolve(Number(String(d).trim())) })
  })
  return {pid: p.pid!, childPid}
}

const serveA = (address: string) => ['serve', 'a', '--state', join(root, 'fixtures/a.json'), '--listen', `${address}:28253`]

test('glb serve a stops by itself once its parent is killed', async () => {
  const parent = parentOf(serveA('127.0.53.1'), 'self')
  const child = await parent.childPid
  assert.ok(alive(child))
  process.kill(parent.pid, 'SIGKILL')
  // It checks its parent every 500 ms and then stops the normal way (about 1 s idle); 15 s is "by itself, not
  // never" with room for a busy machine. The test without GLB_PARENT_PID below shows it is the watch's doing.
  const t0 = Date.now()
  while (alive(child) && Date.now() - t0 < 15_000) await sleep(100)
  const gone = !alive(child)
  if (!gone) process.kill(child, 'SIGKILL')
  assert.ok(gone, `the orphan did not stop itself within ${Date.now() - t0} ms`)
})

test('without GLB_PARENT_PID an orphan keeps serving (the watch is opt-in)', async () => {
  const parent = parentOf(serveA('127.0.53.2'), 'none')
  const child = await parent.childPid
  process.kill(parent.pid, 'SIGKILL')
  await sleep(2000)
  const stillThere = alive(child)
  if (stillThere) process.kill(child, 'SIGTERM')
  assert.ok(stillThere, 'a process run by hand is not tied to whoever started it')
})

test.run()
