// Start-up stays light: `glb --help` reads oclif.manifest.json and imports no command or core module, and
// `glb resolve` imports its own command and the resolver, not the server roles, zod, pino or prom-client.
// The wall-time target (< 300 ms) is measured by `npm run bench -- --only startup`; this checks what is loaded.
// glb-test-timeout: 60
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {spawn} from 'node:child_process'
import dgram from 'node:dgram'
import {existsSync} from 'node:fs'
import {join} from 'node:path'
import {inCI} from '../helpers/env.js'

const root = new URL('../..', import.meta.url).pathname

// A module-resolution hook that prints every URL an `import` resolves to, one per line, to stderr.
const HOOK = `
  export async function resolve(specifier, context, next) {
    const r = await next(specifier, context)
    process._rawDebug('LOADED ' + r.url)
    return r
  }`
const REGISTER = `import {register} from 'node:module'; register(${JSON.stringify('data:text/javascript,' + encodeURIComponent(HOOK))})`

/** The URLs of every module imported while `glb ARGS` runs from dist/ (it must exit 0 within 20 s). */
function loaded(args: string[]): Promise<string[]> {
  const child = spawn(process.execPath, ['--import', `data:text/javascript,${encodeURIComponent(REGISTER)}`, join(root, 'bin/run.js'), ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  child.stdout.resume()
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000)
  return new Promise((resolve) => {
    child.on('close', (code) => {
      clearTimeout(timer)
      assert.is(code, 0, stderr)
      resolve(stderr.split('\n').filter((l) => l.startsWith('LOADED ')).map((l) => l.slice(7)))
    })
  })
}

/** A loopback stub that answers every query with one A record, so `glb resolve` finishes at once. */
async function stub(): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4')
  s.on('message', (q, r) => {
    let end = 12
    while (end < q.length && q[end] !== 0) end += q[end]! + 1
    const head = Buffer.from([q[0]!, q[1]!, 0x84, 0, 0, 1, 0, 1, 0, 0, 0, 0])
    const rr = Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1])
    s.send(Buffer.concat([head, q.subarray(12, end + 5), rr]), r.port, r.address)
  })
  await new Promise<void>((resolve) => s.bind(0, '127.0.67.1', resolve))
  return s
}

/** dist/ is built (npm ci builds it); without it the test skips, and under CI it fails. */
function ready(): boolean {
  if (existsSync(join(root, 'dist/commands/resolve.js'))) return true
  if (inCI) throw new Error('CI must run this test but dist/ is not built (npm run build)')
  console.log('SKIP: needs `npm run build` (dist/)')
  return false
}

test('glb --help imports no command and no glb core module', async () => {
  if (!ready()) return
  const urls = await loaded(['--help'])
  assert.ok(urls.some((u) => u.includes('@oclif/core')), 'the hook saw oclif load (the test can see imports)')
  const ours = urls.filter((u) => u.includes('/dist/'))
  assert.equal(ours.map((u) => u.slice(u.indexOf('/dist/'))), ['/dist/cli/compile-cache.js'])
})

test('glb resolve imports the resolve command and the resolver, not the roles, zod, pino or prom-client', async () => {
  if (!ready()) return
  const s = await stub()
  let urls: string[]
  try {
    urls = await loaded(['resolve', 'www.example.test', '--server', '127.0.67.1', '--port', String(s.address().port), '--no-qmin'])
  } finally {
    s.close()
  }
  assert.ok(urls.some((u) => u.endsWith('/dist/commands/resolve.js')))
  assert.ok(urls.some((u) => u.includes('/dist/resolver/')))
  for (const heavy of ['/dist/roles/', '/dist/commands/serve/', '/dist/lab/', '/node_modules/zod/', '/node_modules/pino/', '/node_modules/prom-client/']) {
    assert.not.ok(urls.some((u) => u.includes(heavy)), `${heavy} is not loaded`)
  }
})

test.run()
