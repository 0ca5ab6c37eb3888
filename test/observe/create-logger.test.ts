// createLogger: JSON lines with component, GLB_LOG_LEVEL, stderr by default, secrets never in a line.
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {execFileSync} from 'node:child_process'
import {Writable} from 'node:stream'
import * as fc from 'fast-check'
import {createLogger} from '../../src/observe/create-logger.js'
import {parseStateText} from '../../src/state/load-state-file.js'
import {tsigKey} from '../../src/state/fields.js'
import {z} from 'zod'

/** A destination that keeps each written line. */
function collector(): {stream: Writable; lines: string[]} {
  const lines: string[] = []
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(...chunk.toString().split('\n').filter(Boolean))
      cb()
    },
  })
  return {stream, lines}
}

test('every line is one JSON object with component, level name, time and message', () => {
  const {stream, lines} = collector()
  const log = createLogger('referral', {destination: stream, level: 'debug'})
  log.info({peer: '192.0.2.1'}, 'registered')
  log.child({zone: 'example.'}).debug('loaded')
  log.warn('multi\nline message stays one JSON line')
  assert.is(lines.length, 3)
  for (const l of lines) {
    const o = JSON.parse(l)
    assert.is(o.component, 'referral')
    assert.type(o.time, 'string')
    assert.ok(['info', 'debug', 'warn'].includes(o.level))
  }
  assert.is(JSON.parse(lines[0]!).peer, '192.0.2.1')
  assert.is(JSON.parse(lines[1]!).zone, 'example.')
})

test('GLB_LOG_LEVEL sets the level; a bad value falls back to info with one warning', () => {
  const saved = process.env.GLB_LOG_LEVEL
  try {
    process.env.GLB_LOG_LEVEL = 'warn'
    let c = collector()
    let log = createLogger('a', {destination: c.stream})
    log.info('hidden')
    log.warn('shown')
    assert.equal(c.lines.map((l) => JSON.parse(l).msg), ['shown'])
    process.env.GLB_LOG_LEVEL = 'loud'
    c = collector()
    log = createLogger('a', {destination: c.stream})
    log.debug('hidden')
    log.info('shown')
    assert.is(c.lines.length, 2)
    assert.match(JSON.parse(c.lines[0]!).msg, /GLB_LOG_LEVEL is not one of/)
    assert.is(JSON.parse(c.lines[1]!).msg, 'shown')
  } finally {
    if (saved === undefined) delete process.env.GLB_LOG_LEVEL
    else process.env.GLB_LOG_LEVEL = saved
  }
})

test('by default lines go to stderr, not stdout', () => {
  const code = `import {createLogger} from ${JSON.stringify(new URL('../../src/observe/create-logger.ts', import.meta.url).pathname)}; createLogger('isp').error({n: 1}, 'boom')`
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: {...process.env, GLB_LOG_LEVEL: ''}})
  assert.is(out, '')
  const err = execFileSync('sh', ['-c', `"${process.execPath}" --import tsx --input-type=module -e "$CODE" 2>&1 >/dev/null`], {encoding: 'utf8', env: {...process.env, CODE: code}})
  const o = JSON.parse(err.trim())
  assert.is(o.component, 'isp')
  assert.is(o.msg, 'boom')
})

test('secrets never appear in a log line, in any of the shapes state and errors take', () => {
  fc.assert(fc.property(fc.base64String({minLength: 12, maxLength: 44}).filter((s) => s.length >= 12), (secret) => {
    const {stream, lines} = collector()
    const log = createLogger('authority', {destination: stream})
    const key = {name: 'k1.', algorithm: 'hmac-sha256', secret}
    log.info({secret}, 'top')
    log.info({key}, 'key')
    log.info({tsig: key}, 'tsig')
    log.info({keys: [key, key]}, 'keys')
    log.info({state: {keys: [key]}}, 'state')
    log.info({state: {zone: {secret}}}, 'nested')
    log.child({key}).info('child binding')
    // A state error about a bad secret, logged as an error object.
    try {
      parseStateText('a.json', JSON.stringify({keys: [{name: 'k1', secret: secret + '*'}]}), z.object({keys: z.array(tsigKey)}))
    } catch (err) {
      log.error({err}, 'state rejected')
    }
    assert.is(lines.length, 8)
    for (const l of lines) assert.not.ok(l.includes(secret), `leaked in ${l}`)
    assert.ok(lines.every((l) => JSON.parse(l)))
    assert.match(lines[1]!, /"secret":"\[redacted\]"/)
  }), {numRuns: 100})
})

test.run()
