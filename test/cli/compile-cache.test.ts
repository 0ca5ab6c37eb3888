// The start-up code cache (src/cli/compile-cache.ts): CommonJS modules run the same with and without it, a
// module edited to the same length is never run from stale cached code, import() inside CommonJS still works,
// the cache file is private to its user, and a damaged cache file is ignored.
// glb-test-timeout: 60
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {spawnSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import {chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import Module from 'node:module'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {requires} from '../helpers/env.js'

const root = new URL('../..', import.meta.url).pathname
// Node >= 22.1 has its own cache (module.enableCompileCache), which glb then uses; the hand-written fallback runs
// only on older Node, so its own tests (file format, modes, ownership) run where it runs, and a newer Node
// checks that the built-in cache is the one switched on instead.
const builtIn = typeof (Module as {enableCompileCache?: unknown}).enableCompileCache === 'function'
const fallbackTest = builtIn ? (_name: string, _fn: () => void) => {} : test
const dir = mkdtempSync(join(tmpdir(), 'glb-cc-'))
const cacheFile = join(dir, 'cache', 'code.bin')
const modFile = join(dir, 'mod.cjs')
const esmFile = join(dir, 'esm.mjs')
writeFileSync(esmFile, 'export const v = "from esm"\n')

/** Runs a fresh Node with the cache on (file `cacheFile`), requiring mod.cjs; returns its stdout. */
function runWithCache(env: Record<string, string> = {}): string {
  const script = `
    const {enableCompileCache} = await import(${JSON.stringify(join(root, 'src/cli/compile-cache.ts'))})
    enableCompileCache(${JSON.stringify(cacheFile)})
    const {createRequire} = await import('node:module')
    const m = createRequire(import.meta.url)(${JSON.stringify(modFile)})
    console.log(m.value, await m.dynamic())`
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: root,
    encoding: 'utf8',
    timeout: 20_000,
    env: {...process.env, ...env},
  })
  assert.is(r.status, 0, r.stderr)
  assert.not.match(r.stderr, /Warning/, 'no warning printed')
  return r.stdout.trim()
}

const moduleText = (word: string): string =>
  `#!/usr/bin/env node\nexports.value = ${JSON.stringify(word)}\nexports.dynamic = () => import(${JSON.stringify(esmFile)}).then((m) => m.v)\n`
const plainModule = (word: string): string => `exports.value = ${JSON.stringify(word)}\nexports.dynamic = async () => "none"\n`

/** Where Node's built-in cache goes when glb turns it on (next to the fallback's file). */
const builtInDir = join(dir, 'cache', 'node-compile-cache')
const filesUnder = (d: string): string[] => (existsSync(d) ? readdirSync(d, {recursive: true, encoding: 'utf8'}) : [])

fallbackTest('a module runs the same on the first run (filling the cache) and the next (from it)', () => {
  writeFileSync(modFile, plainModule('alpha'))
  assert.is(runWithCache(), 'alpha none')
  assert.ok(existsSync(cacheFile), 'the first run wrote the cache')
  const size = statSync(cacheFile).size
  assert.is(runWithCache(), 'alpha none')
  assert.is(statSync(cacheFile).size, size, 'a run that compiled nothing new leaves the file alone')
})

if (builtIn) test('Node\'s own compile cache is switched on (beside the fallback file), and modules run the same from it', () => {
  writeFileSync(modFile, plainModule('alpha'))
  assert.is(runWithCache(), 'alpha none')
  assert.ok(filesUnder(builtInDir).length > 0, `Node's cache written under ${builtInDir}`)
  assert.not.ok(existsSync(cacheFile), 'the fallback is not used')
  assert.is(runWithCache(), 'alpha none')
})

test('a module edited to the same length is not run from the old cached code', () => {
  writeFileSync(modFile, plainModule('bravo'))
  assert.is(runWithCache(), 'bravo none')
  writeFileSync(modFile, plainModule('delta')) // same length: V8 alone would accept the old cached data
  assert.is(runWithCache(), 'delta none')
})

test('import() inside CommonJS keeps working, and a shebang line is allowed', () => {
  writeFileSync(modFile, moduleText('echo'))
  assert.is(runWithCache(), 'echo from esm')
  assert.is(runWithCache(), 'echo from esm')
})

fallbackTest('the cache is private (0700 directory, 0600 file); a damaged file is ignored and rewritten', () => {
  writeFileSync(modFile, plainModule('golf'))
  runWithCache()
  assert.is(statSync(join(dir, 'cache')).mode & 0o777, 0o700)
  assert.is(statSync(cacheFile).mode & 0o777, 0o600)
  writeFileSync(cacheFile, Buffer.from('not a cache at all, and far too short to hold one entry'))
  assert.is(runWithCache(), 'golf none')
  assert.is(runWithCache(), 'golf none')
})

// Giving the cache file to another user needs root.
if (!builtIn) requires(['root'], test).test('a cache file owned by another user is never read (root only)', () => {
  // Plant cached code compiled from 'hotel' under the key of 'india' (same length, so V8 would accept it).
  rmSync(join(dir, 'cache'), {recursive: true, force: true})
  writeFileSync(modFile, plainModule('hotel'))
  runWithCache()
  const entries = readFileSync(cacheFile)
  const data = entries.subarray(24, 24 + entries.readUInt32LE(20))
  const india = plainModule('india')
  const key = createHash('sha1').update(modFile).update('\0').update(india).digest()
  const len = Buffer.alloc(4)
  len.writeUInt32LE(data.length)
  writeFileSync(cacheFile, Buffer.concat([key, len, data]))
  writeFileSync(modFile, india)
  assert.is(runWithCache(), 'hotel none', 'the planted entry runs when the file is ours (the test plants correctly)')
  writeFileSync(cacheFile, Buffer.concat([key, len, data]))
  chownSync(cacheFile, 65534, 65534)
  assert.is(runWithCache(), 'india none')
})

test('NODE_DISABLE_COMPILE_CACHE turns it off', () => {
  rmSync(join(dir, 'cache'), {recursive: true, force: true})
  writeFileSync(modFile, plainModule('juliet'))
  assert.is(runWithCache({NODE_DISABLE_COMPILE_CACHE: '1'}), 'juliet none')
  assert.not.ok(existsSync(cacheFile))
  assert.equal(filesUnder(builtInDir), [])
})

test.after(() => rmSync(dir, {recursive: true, force: true}))
test.run()
