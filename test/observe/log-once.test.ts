// logOnce: first occurrence in full, then one summary per interval; a quiet interval or logRecovered ends it.
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {Writable} from 'node:stream'
import {createLogger} from '../../src/observe/create-logger.js'
import {logOnce, logRecovered} from '../../src/observe/log-once.js'

function setup() {
  const lines: Array<Record<string, any>> = []
  const stream = new Writable({
    write(chunk, _e, cb) {
      for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l))
      cb()
    },
  })
  return {log: createLogger('isp', {destination: stream}), lines}
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

test('an upstream timing out on 1,000 queries is logged once, then summarised once per interval', async () => {
  const {log, lines} = setup()
  const intervalMs = 150
  const upstream = '192.0.2.53'
  const logged = []
  for (let i = 0; i < 1000; i++) logged.push(logOnce(log, `timeout ${upstream}`, {upstream}, 'upstream timed out', {intervalMs}))
  assert.is(lines.length, 1)
  assert.equal(logged.filter(Boolean).length, 1)
  assert.is(lines[0]!.msg, 'upstream timed out')
  assert.is(lines[0]!.level, 'warn')
  assert.is(lines[0]!.upstream, upstream)
  await sleep(intervalMs + 100)
  assert.is(lines.length, 2, 'one summary after the interval')
  assert.is(lines[1]!.repeated, 999)
  assert.match(lines[1]!.msg, /upstream timed out \(repeated 999 times in \d+s\)/)
  // Still failing in the next interval: suppressed again, one more summary.
  for (let i = 0; i < 10; i++) logOnce(log, `timeout ${upstream}`, {upstream}, 'upstream timed out', {intervalMs})
  assert.is(lines.length, 2)
  await sleep(intervalMs + 100)
  assert.is(lines.length, 3)
  assert.is(lines[2]!.repeated, 10)
  // A quiet interval ends the episode: the next failure is news again.
  await sleep(intervalMs + 100)
  assert.is(lines.length, 3, 'no summary for a quiet interval')
  assert.ok(logOnce(log, `timeout ${upstream}`, {upstream}, 'upstream timed out', {intervalMs}))
  assert.is(lines.length, 4)
  assert.is(lines[3]!.repeated, undefined)
})

test('different keys are independent; logRecovered flushes the count and says it is over', async () => {
  const {log, lines} = setup()
  for (let i = 0; i < 5; i++) {
    logOnce(log, 'a', {}, 'a failing', {intervalMs: 10_000, level: 'error'})
    logOnce(log, 'b', {}, 'b failing', {intervalMs: 10_000})
  }
  assert.equal(lines.map((l) => l.msg), ['a failing', 'b failing'])
  assert.is(lines[0]!.level, 'error')
  assert.ok(logRecovered(log, 'a', {}, 'a answers again'))
  assert.equal(lines.slice(2).map((l) => [l.msg, l.repeated]), [['a failing (repeated 4 times in 1s)', 4], ['a answers again', undefined]])
  assert.not.ok(logRecovered(log, 'a', {}, 'a answers again'), 'nothing to recover')
  assert.not.ok(logRecovered(log, 'never', {}, 'x'))
  assert.ok(logOnce(log, 'a', {}, 'a failing'), 'a new episode after recovery')
  logRecovered(log, 'b', {}, 'b ok')
  logRecovered(log, 'a', {}, 'a ok')
})

test('its timers do not keep the process alive', async () => {
  const {execFileSync} = await import('node:child_process')
  const code = `import {createLogger} from ${JSON.stringify(new URL('../../src/observe/create-logger.ts', import.meta.url).pathname)}
import {logOnce} from ${JSON.stringify(new URL('../../src/observe/log-once.ts', import.meta.url).pathname)}
const log = createLogger('x', {level: 'silent'}); logOnce(log, 'k', {}, 'm', {intervalMs: 60000}); logOnce(log, 'k', {}, 'm')`
  const t0 = Date.now()
  execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {timeout: 20_000})
  assert.ok(Date.now() - t0 < 20_000)
})

test.run()
