// The test runner's closing line is what CI reads: check that it counts failures, skips and type errors.
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {execFileSync} from 'node:child_process'
import {mkdtempSync, writeFileSync, rmSync, mkdirSync, copyFileSync, symlinkSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

const repo = new URL('../..', import.meta.url).pathname

/** Runs scripts/run-tests.mjs in a scratch project holding `files` (path -> text); returns its output and exit code. */
function runRunner(files: Record<string, string>, env: Record<string, string> = {}): {out: string; code: number} {
  const dir = mkdtempSync(join(tmpdir(), 'glb-runner-'))
  try {
    for (const d of ['scripts', 'test/helpers']) mkdirSync(join(dir, d), {recursive: true})
    copyFileSync(join(repo, 'scripts/run-tests.mjs'), join(dir, 'scripts/run-tests.mjs'))
    copyFileSync(join(repo, 'test/helpers/env.ts'), join(dir, 'test/helpers/env.ts'))
    symlinkSync(join(repo, 'node_modules'), join(dir, 'node_modules'))
    writeFileSync(join(dir, 'package.json'), '{"type": "module"}\n')
    writeFileSync(join(dir, 'tsconfig.check.json'), JSON.stringify({
      compilerOptions: {target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, types: ['node'], skipLibCheck: true},
      include: ['test/**/*.ts'],
    }))
    for (const [path, text] of Object.entries(files)) writeFileSync(join(dir, path), text)
    const {CI: _ci, ...rest} = process.env
    try {
      return {out: execFileSync(process.execPath, [join(dir, 'scripts/run-tests.mjs')], {cwd: dir, encoding: 'utf8', env: {...rest, ...env}}), code: 0}
    } catch (e: any) {
      return {out: e.stdout, code: e.status}
    }
  } finally {
    rmSync(dir, {recursive: true, force: true})
  }
}

const lastLine = (out: string) => out.trim().split('\n').at(-1)!
const uvu = "import {test} from 'uvu'; import * as assert from 'uvu/assert'; "

test('a failing test is counted in the closing line and the exit code is non-zero', () => {
  const r = runRunner({'test/a.test.ts': `${uvu}test('ok', () => {}); test('bad', () => assert.is(1, 2)); test.run()\n`})
  assert.is(r.code, 1)
  assert.match(lastLine(r.out), /^1 passed, 1 failed, 0 skipped$/)
})

const needsAbsentTool = `${uvu}import {requires} from './helpers/env.js'
test('runs', () => {})
requires(['glb-no-such-tool'], test).test('needs a tool', () => { throw new Error('must not run') })
test.run()
`

test('a test whose tool is missing is a skip with its reason, not a pass; exit 0', () => {
  const r = runRunner({'test/b.test.ts': needsAbsentTool})
  assert.is(r.code, 0, r.out)
  assert.match(lastLine(r.out), /^1 passed, 0 failed, 1 skipped$/)
  assert.match(r.out, /test\/b\.test\.ts: needs a tool: needs glb-no-such-tool/)
})

test('under CI=true the same missing tool is a failure', () => {
  const r = runRunner({'test/b.test.ts': needsAbsentTool}, {CI: 'true'})
  assert.is(r.code, 1)
  assert.match(lastLine(r.out), /^1 passed, 1 failed, 0 skipped$/)
  assert.match(r.out, /CI must run this test but it needs glb-no-such-tool/)
})

test('a type error in a test file fails the run, though tsx would run the file', () => {
  const r = runRunner({'test/c.test.ts': `${uvu}const n: number = 'not a number'; test('runs', () => assert.ok(n)); test.run()\n`})
  assert.is(r.code, 1)
  assert.match(r.out, /FAIL typecheck: 1 type error\(s\)/)
  assert.match(r.out, /c\.test\.ts\(1,\d+\): error TS2322/)
  assert.match(lastLine(r.out), /^1 passed, 1 failed, 0 skipped$/)
})

test.run()
