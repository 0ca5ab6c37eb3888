#!/usr/bin/env node
// Type-checks src/, test/ and bench/, then runs every test/**/*.test.ts file in its own process under a
// deadline and prints the closing line "N passed, N failed, N skipped". tsx strips types without checking
// them, so the check is its own step and a type error counts as one failure. uvu has no per-test timeout and
// hangs on a leaked socket, so the deadline is enforced here, per file; a file that dies or times out counts
// as one failure. Skips (tests whose tool or root is missing, registered through test/helpers/env.ts) are
// listed with their reasons; under CI=true a skip is a failure, since CI installs every tool.
// Usage: npm test [-- substring ...]   (run only files whose path contains a substring; a substring starting
// with ! leaves out the files that contain the rest, e.g. `npm test -- '!test/lab/e2e-'`)
import {spawn} from 'node:child_process'
import {existsSync, readdirSync, readFileSync, statSync} from 'node:fs'
import {join, relative} from 'node:path'

const root = new URL('..', import.meta.url).pathname
const args = process.argv.slice(2)
const filters = args.filter((a) => !a.startsWith('!'))
const excludes = args.filter((a) => a.startsWith('!')).map((a) => a.slice(1))
const DEFAULT_TIMEOUT_S = 120

function walk(dir) {
  const out = []
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) out.push(...walk(p))
    else if (name.endsWith('.test.ts')) out.push(p)
  }
  return out
}

const files = walk(join(root, 'test')).filter((f) => (filters.length === 0 || filters.some((s) => f.includes(s))) && !excludes.some((s) => f.includes(s)))
const inCI = process.env.CI === 'true' || process.env.CI === '1'
let passed = 0, failed = 0, skipped = 0
const failures = []
const skips = []

{
  const started = Date.now()
  const r = await typeCheck()
  const secs = ((Date.now() - started) / 1000).toFixed(1)
  if (r.ok) console.log(`ok   typecheck: tsc -p tsconfig.check.json (${secs}s)`)
  else {
    failed += 1
    failures.push(`typecheck: ${r.why}`)
    console.log(`FAIL typecheck: ${r.why} (${secs}s)`)
    if (r.output) process.stdout.write(indent(r.output))
  }
}

for (const file of files) {
  const rel = relative(root, file)
  // A file may raise its own deadline with a line "// glb-test-timeout: SECONDS".
  const m = /glb-test-timeout:\s*(\d+)/.exec(readFileSync(file, 'utf8'))
  const timeoutS = m ? Number(m[1]) : DEFAULT_TIMEOUT_S
  const started = Date.now()
  const r = await runFile(file, timeoutS)
  const secs = ((Date.now() - started) / 1000).toFixed(1)
  const counts = parseUvu(r.output)
  if (r.timedOut) {
    failed += 1 + (counts?.failed ?? 0); passed += counts?.passed ?? 0
    failures.push(`${rel}: killed after ${timeoutS}s deadline`)
    console.log(`TIMEOUT ${rel} (${secs}s)`)
  } else if (!counts) {
    failed += 1
    failures.push(`${rel}: exited ${r.code} without a uvu summary`)
    console.log(`CRASH ${rel} (exit ${r.code}, ${secs}s)`)
  } else {
    passed += counts.passed; failed += counts.failed; skipped += counts.skipped
    for (const m of r.output.matchAll(/^SKIP: (.*)$/gm)) skips.push(`${rel}: ${m[1]}`)
    if (counts.failed || r.code !== 0) {
      if (!counts.failed) failed += 1
      failures.push(`${rel}: ${counts.failed} failed`)
    }
    console.log(`${counts.failed || r.code ? 'FAIL' : 'ok  '} ${rel} (${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped, ${secs}s)`)
  }
}

if (skips.length) {
  console.log('\nSkipped (install the tool or run as root to run them):')
  for (const s of skips) console.log('  ' + s)
}
if (inCI && skipped) failures.push(`CI=true: ${skipped} test(s) skipped; CI must run every test`)
if (failures.length) {
  console.log('\nFailures:')
  for (const f of failures) console.log('  ' + f)
}
console.log(`\n${passed} passed, ${failed} failed, ${skipped} skipped`)
process.exit(failed || (inCI && skipped) ? 1 : 0)

/** `tsc --noEmit` over src/, test/ and bench/ (tsconfig.check.json). */
function typeCheck() {
  const config = join(root, 'tsconfig.check.json')
  if (!existsSync(config)) return Promise.resolve({ok: false, why: 'tsconfig.check.json is missing', output: ''})
  const tsc = join(root, 'node_modules/typescript/bin/tsc')
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [tsc, '-p', config], {cwd: root, stdio: ['ignore', 'pipe', 'pipe']})
    let output = ''
    child.stdout.on('data', (c) => { output += c })
    child.stderr.on('data', (c) => { output += c })
    child.on('error', (err) => resolve({ok: false, why: `tsc did not start: ${err.message}`, output}))
    child.on('close', (code) => {
      const errors = (output.match(/error TS\d+/g) ?? []).length
      resolve(code === 0 ? {ok: true} : {ok: false, why: errors ? `${errors} type error(s)` : `tsc exited ${code}`, output})
    })
  })
}

function runFile(file, timeoutS) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', file], {
      cwd: root,
      env: {...process.env, NO_COLOR: '1', FORCE_COLOR: '0'},
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // own process group: the deadline kills the servers a test spawned too
    })
    let output = ''
    const take = (chunk) => { const s = chunk.toString(); output += s; process.stdout.write(indent(s)) }
    child.stdout.on('data', take)
    child.stderr.on('data', take)
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      try { process.kill(-child.pid, 'SIGKILL') } catch {}
    }, timeoutS * 1000)
    child.on('close', (code) => {
      clearTimeout(timer)
      // Reap anything the file left behind in its process group.
      try { process.kill(-child.pid, 'SIGKILL') } catch {}
      resolve({code, output, timedOut})
    })
  })
}

function indent(s) {
  return s.replace(/^(?=.)/gm, '    ')
}

function parseUvu(output) {
  const clean = output.replace(/\x1b\[[0-9;]*m/g, '')
  const total = [...clean.matchAll(/Total:\s+(\d+)/g)]
  if (!total.length) return null
  const sum = (re) => [...clean.matchAll(re)].reduce((a, x) => a + Number(x[1]), 0)
  const t = sum(/Total:\s+(\d+)/g), p = sum(/Passed:\s+(\d+)/g), s = sum(/Skipped:\s+(\d+)/g)
  return {passed: p, failed: Math.max(0, t - p), skipped: s}
}
