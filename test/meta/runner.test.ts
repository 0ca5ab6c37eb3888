// The test runner's closing line is what CI reads: check it counts a failing file as a failure.
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {execFileSync} from 'node:child_process'
import {mkdtempSync, writeFileSync, rmSync, mkdirSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

test('runner reports failures in the closing line and exits non-zero', () => {
  const dir = mkdtempSync(join(tmpdir(), 'glb-runner-'))
  try {
    mkdirSync(join(dir, 'scripts')); mkdirSync(join(dir, 'test'))
    execFileSync('cp', [new URL('../../scripts/run-tests.mjs', import.meta.url).pathname, join(dir, 'scripts/')])
    execFileSync('ln', ['-s', new URL('../../node_modules', import.meta.url).pathname, join(dir, 'node_modules')])
    writeFileSync(join(dir, 'test/a.test.ts'), "import {test} from 'uvu'; import * as assert from 'uvu/assert'; test('ok', () => {}); test('bad', () => assert.is(1, 2)); test.run()\n")
    let out = ''
    let code = 0
    try {
      out = execFileSync(process.execPath, [join(dir, 'scripts/run-tests.mjs')], {cwd: dir, encoding: 'utf8'})
    } catch (e: any) {
      out = e.stdout; code = e.status
    }
    assert.is(code, 1)
    assert.match(out.trim().split('\n').at(-1)!, /^1 passed, 1 failed, 0 skipped$/)
  } finally {
    rmSync(dir, {recursive: true, force: true})
  }
})

test.run()
