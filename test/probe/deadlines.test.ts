// The deadline queue behind probe timeouts: expiry in order and on time, finished entries skipped, no timer
// left armed while nothing is live, entries added while expired ones run.
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {DeadlineQueue} from '../../src/probe/deadlines.js'

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** Waits until `cond` holds; fails after 10 s (a loaded machine makes a timer late, never early). */
async function until(cond: () => boolean, what: string): Promise<void> {
  const end = performance.now() + 10_000
  while (!cond()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`)
    await sleep(5)
  }
}
const timers = (): number => process.getActiveResourcesInfo().filter((x) => x === 'Timeout').length

/** An entry that records when it expired; `finish()` ends it early. */
function entry(q: DeadlineQueue, name: string, log: Array<[string, number]>, t0: number) {
  const e = {
    done: false,
    expire() {
      e.done = true
      log.push([name, performance.now() - t0])
      q.finished()
    },
    finish() {
      e.done = true
      q.finished()
    },
  }
  q.add(e)
  return e
}

test('entries expire in the order added, each about ms after it was added; finished ones never expire', async () => {
  const q = new DeadlineQueue(60)
  const log: Array<[string, number]> = []
  const t0 = performance.now()
  entry(q, 'a', log, t0)
  await sleep(20)
  const b = entry(q, 'b', log, t0)
  entry(q, 'd', log, t0)
  await sleep(20)
  entry(q, 'c', log, t0)
  b.finish()
  await until(() => log.length === 3, 'three expiries') // b's deadline (80 ms) is before c's: it had its chance
  assert.equal(log.map(([n]) => n), ['a', 'd', 'c'])
  // Never before its deadline (each was added 0, 20 and 40 ms in: 60, 80, 100 ms); load can only delay them.
  // The upper bounds only say "on its own deadline, not at a later tick", with room for a busy machine.
  assert.ok(log[0]![1] >= 59 && log[0]![1] < 600, `a expired at ${log[0]![1]} ms`)
  assert.ok(log[1]![1] >= 79 && log[1]![1] < 600, `d expired at ${log[1]![1]} ms, not with a`)
  assert.ok(log[2]![1] >= 99 && log[2]![1] < 600, `c expired at ${log[2]![1]} ms`)
})

test('no timer stays armed once every entry has finished, early or by expiry', async () => {
  const before = timers()
  const q = new DeadlineQueue(10_000)
  const log: Array<[string, number]> = []
  const xs = Array.from({length: 3000}, (_, i) => entry(q, String(i), log, 0))
  assert.is(timers(), before + 1, 'one timer for all')
  for (const x of xs) x.finish()
  assert.is(timers(), before, 'disarmed when nothing is live')
  const short = new DeadlineQueue(20)
  entry(short, 'x', log, 0)
  await until(() => log.length === 1, 'x to expire')
  assert.equal(log.map(([n]) => n), ['x'])
  assert.is(timers(), before)
})

test('an entry added while expired ones run gets its own full deadline', async () => {
  const q = new DeadlineQueue(40)
  const log: Array<[string, number]> = []
  const t0 = performance.now()
  const first = {
    done: false,
    expire() {
      first.done = true
      log.push(['first', performance.now() - t0])
      q.finished()
      entry(q, 'second', log, t0) // as a scheduler starts the next probe from a timeout's sample
    },
  }
  q.add(first)
  entry(q, 'other', log, t0)
  await until(() => log.length === 3, 'three expiries')
  assert.equal(log.map(([n]) => n), ['first', 'other', 'second'])
  assert.ok(log[2]![1] >= 79, `second expired at ${log[2]![1]} ms, 40 ms after it was added`)
})

test.run()
