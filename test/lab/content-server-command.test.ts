// `glb lab content` as the lab runs it: a subprocess that serves the matrix, follows file edits, stops on SIGTERM.
// glb-test-timeout: 120
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {spawn} from 'node:child_process'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {probeTarget} from '../../src/probe/prober.js'
import {UdpProber} from '../../src/probe/udp.js'

const SERVER = '127.0.80.1'
const POP = '127.0.81.1'
const root = new URL('../../', import.meta.url).pathname

test('serves the matrix file, applies edits live, exits 0 on SIGTERM', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'glb-lab-content-'))
  const file = join(dir, 'matrix.json')
  writeFileSync(file, JSON.stringify({servers: {[SERVER]: {from: {[POP]: 15}}}}))
  const child = spawn(process.execPath, ['bin/dev.js', 'lab', 'content', '--matrix', file, '--http-port', '0', '--udp-port', '0', '--dns-port', '0', '--json'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const killer = setTimeout(() => child.kill('SIGKILL'), 90_000)
  let stderr = ''
  child.stderr.on('data', (d) => (stderr += d))
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve))
  try {
    const line = await new Promise<string>((resolve, reject) => {
      let out = ''
      child.stdout.on('data', (d) => {
        out += d
        if (out.includes('\n')) resolve(out.split('\n')[0]!)
      })
      child.once('close', () => reject(new Error(`exited before listening: ${stderr}`)))
    })
    const listening = JSON.parse(line).listening
    assert.is(listening.length, 1)
    assert.is(listening[0].address, SERVER)
    const udp = new UdpProber({timeoutMs: 500, localAddress: POP})
    const target = probeTarget(SERVER, listening[0].udp)
    const first = await udp.probe(target)
    assert.ok(first.ok && first.rttMs! >= 14, JSON.stringify(first))
    writeFileSync(file, JSON.stringify({servers: {[SERVER]: {from: {[POP]: 15}, down: true}}}))
    let silent = false
    for (let i = 0; i < 20 && !silent; i++) silent = !(await udp.probe(target)).ok
    assert.ok(silent, 'marked down in the file: the server went silent')
    assert.match(stderr, /matrix reloaded/)
    child.kill('SIGTERM')
    assert.is(await exited, 0)
  } finally {
    clearTimeout(killer)
    child.kill('SIGKILL')
    rmSync(dir, {recursive: true, force: true})
  }
})

test('a missing matrix file is a usage error with one line naming it', async () => {
  const child = spawn(process.execPath, ['bin/dev.js', 'lab', 'content', '--matrix', '/nonexistent/m.json', '--http-port', '0'], {cwd: root, stdio: ['ignore', 'pipe', 'pipe']})
  let stderr = ''
  child.stderr.on('data', (d) => (stderr += d))
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
  assert.is(code, 2)
  assert.is(stderr.trim(), 'glb: /nonexistent/m.json: cannot read latency matrix (ENOENT)')
})

test.run()
