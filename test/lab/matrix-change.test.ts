// applyMatrixChange (glb lab matrix): one server's entry changed, validated, written atomically; bad changes write nothing.
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {applyMatrixChange} from '../../src/lab/matrix-change.js'
import {LatencyMatrix} from '../../src/lab/latency-matrix.js'

const start = {
  $comment: 'kept',
  defaultMs: 50,
  servers: {'127.0.10.1': {from: {'127.0.1.0/24': 5}, default: 50}, '127.0.10.2': {down: false}},
}

function withFile(fn: (file: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'glb-matrix-'))
  const file = join(dir, 'latency-matrix.json')
  writeFileSync(file, JSON.stringify(start, null, 2))
  return fn(file).finally(() => rmSync(dir, {recursive: true, force: true}))
}

test('down, up, a delay from one POP, a default delay: the matrix then says so', () => withFile(async (file) => {
  await applyMatrixChange(file, {server: '127.0.10.1', down: true})
  assert.ok(LatencyMatrix.load(file).isDown('127.0.10.1'))
  await applyMatrixChange(file, {server: '127.0.10.1', down: false})
  assert.not.ok(LatencyMatrix.load(file).isDown('127.0.10.1'))
  await applyMatrixChange(file, {server: '127.0.10.1', from: '127.0.1.1', ms: 405})
  const m = LatencyMatrix.load(file)
  assert.is(m.delayMs('127.0.10.1', '127.0.1.1'), 405, 'the /32 wins over the /24')
  assert.is(m.delayMs('127.0.10.1', '127.0.1.2'), 5)
  await applyMatrixChange(file, {server: '127.0.10.2', ms: 70})
  assert.is(LatencyMatrix.load(file).delayMs('127.0.10.2', '127.0.3.1'), 70)
  assert.is(JSON.parse(readFileSync(file, 'utf8')).$comment, 'kept')
}))

test('an unknown server, a bad address or prefix, --from without --ms: an error naming it, and the file unchanged', () => withFile(async (file) => {
  const before = readFileSync(file, 'utf8')
  const bad: Array<[Parameters<typeof applyMatrixChange>[1], RegExp]> = [
    [{server: '127.0.10.9', down: true}, /no server 127\.0\.10\.9 \(servers: 127\.0\.10\.1, 127\.0\.10\.2\)/],
    [{server: 'nowhere', down: true}, /"nowhere": not an IP address/],
    [{server: '127.0.10.1', from: '127.0.1.0/99', ms: 5}, /127\.0\.1\.0\/99/],
    [{server: '127.0.10.1', from: '127.0.1.1'}, /--from needs --ms/],
  ]
  for (const [change, re] of bad) {
    try {
      await applyMatrixChange(file, change)
      assert.unreachable(JSON.stringify(change))
    } catch (err) {
      assert.match((err as Error).message, re)
    }
    assert.is(readFileSync(file, 'utf8'), before, JSON.stringify(change))
  }
}))

test.run()
