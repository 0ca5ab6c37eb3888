// loadStateFile: one-line errors naming file, path and expectation; line/column for bad JSON; secrets never shown.
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {mkdtempSync, rmSync, writeFileSync, mkdirSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import * as fc from 'fast-check'
import {z} from 'zod'
import {ipAddress, tsigKey, ttl} from '../../src/state/fields.js'
import {loadStateFile, loadStateFileSync, parseStateText} from '../../src/state/load-state-file.js'
import {StateError} from '../../src/state/state-error.js'

const lbSchema = z.object({
  ttl,
  pools: z.array(z.object({name: z.string(), servers: z.array(z.object({address: ipAddress, weight: z.number().default(1)}))})),
  keys: z.array(tsigKey).default([]),
})

const dir = mkdtempSync(join(tmpdir(), 'glb-load-'))

async function failure(text: string, name = 'lb.json', schema: z.ZodType = lbSchema): Promise<StateError> {
  const file = join(dir, name)
  writeFileSync(file, text)
  try {
    await loadStateFile(file, schema)
  } catch (e) {
    assert.instance(e, StateError)
    assert.not.match((e as Error).message, /\n/, 'one line')
    return e as StateError
  }
  throw new Error('expected a failure')
}

test('a wrong type in a nested field names the file and the exact path', async () => {
  const e = await failure(JSON.stringify({ttl: 30, pools: [{name: 'p', servers: [{address: '10.0.0.1'}, {address: '::1'}, {address: '10.0.0.x'}]}]}))
  assert.is(e.message, `${join(dir, 'lb.json')}: pools[0].servers[2].address: expected an IPv4 or IPv6 address, got "10.0.0.x"`)
  assert.is(e.code, 'invalid')
  assert.is(e.file, join(dir, 'lb.json'))
  assert.is(e.path, 'pools[0].servers[2].address')
  assert.is(e.expected, 'an IPv4 or IPv6 address')
})

test('a string where a number belongs says so, with the type found', () => {
  try {
    parseStateText('b.json', '{"ttl": "30", "pools": []}', lbSchema)
    assert.unreachable()
  } catch (e) {
    assert.is((e as Error).message, 'b.json: ttl: expected a number, got string "30"')
  }
})

test('a missing field, a wrong container and an unknown strict field are named', () => {
  const msg = (text: string, schema: z.ZodType = lbSchema) => {
    try { parseStateText('a.json', text, schema) } catch (e) { return (e as Error).message }
    return 'no error'
  }
  assert.is(msg('{"pools": []}'), 'a.json: ttl: expected a number, got nothing (the field is missing)')
  assert.is(msg('{"ttl": 1, "pools": {}}'), 'a.json: pools: expected an array, got an object')
  assert.is(msg('[]'), 'a.json: expected an object, got an array of 0 items')
  assert.is(msg('{"a": 1, "colour": 2}', z.strictObject({a: z.number()})), 'a.json: colour: unknown field (known fields are a)')
  assert.is(msg('{"mode": "fast"}', z.object({mode: z.enum(['rtt', 'rr'])})), 'a.json: mode: expected one of "rtt", "rr", got "fast"')
  assert.is(msg('{"n": 0}', z.object({n: z.number().min(1)})), 'a.json: n: expected a number at least 1, got 0')
  assert.is(msg('{"v": true}', z.object({v: z.union([z.string(), z.number()])})), 'a.json: v: expected a string or a number, got true')
  assert.is(msg('{"x": 1, "y": "a", "z": "b"}', z.object({x: z.string(), y: z.number(), z: z.number()})), 'a.json: x: expected a string, got number 1 [and 2 more problems]')
  assert.is(msg('{"labels": {"a b": 1}}', z.object({labels: z.record(z.string(), z.string())})), 'a.json: labels["a b"]: expected a string, got number 1')
})

test('bad JSON gives line and column, and no excerpt of the file', async () => {
  const cases: Array<[string, number, number, RegExp]> = [
    ['{\n  "ttl": 30,\n  "pools": [\n    {"name": "a",}\n  ]\n}', 4, 18, /trailing comma/],
    ['{\n  "ttl": 30\n  "pools": []\n}', 3, 3, /expected ',' or '}'/],
    ['{"ttl": 30, "pools": [}', 1, 23, /expected a value/],
    ['{"ttl": 30,', 1, 12, /end of file/],
    ['{"ttl": 30} }', 1, 13, /after the end/],
    ["{'ttl': 30}", 1, 2, /double quotes/],
    ['{"ttl": 30 // five minutes\n}', 1, 12, /expected ',' or '}'/],
    ['', 1, 1, /empty/],
  ]
  for (const [text, line, column, re] of cases) {
    const e = await failure(text)
    assert.is(e.code, 'syntax')
    assert.is(e.line, line, `line of ${JSON.stringify(text)}: ${e.message}`)
    assert.is(e.column, column, `column of ${JSON.stringify(text)}: ${e.message}`)
    assert.ok(e.message.startsWith(`${join(dir, 'lb.json')}:${line}:${column}: invalid JSON: `), e.message)
    assert.match(e.message, re)
  }
})

test('a UTF-8 byte order mark is accepted', () => {
  assert.equal(parseStateText('a.json', '\ufeff{"ttl": 5, "pools": []}', lbSchema), {ttl: 5, pools: [], keys: []})
})

test('a missing file, a directory and an unreadable file say "cannot read" and why', async () => {
  for (const load of [loadStateFile, async (f: string, s: z.ZodType) => loadStateFileSync(f, s)]) {
    try {
      await load('a.json', lbSchema)
      assert.unreachable()
    } catch (e) {
      assert.instance(e, StateError)
      assert.is((e as Error).message, 'a.json: cannot read: no such file')
      assert.is((e as StateError).code, 'read')
    }
    mkdirSync(join(dir, 'sub.json'), {recursive: true})
    try {
      await load(join(dir, 'sub.json'), lbSchema)
      assert.unreachable()
    } catch (e) {
      assert.is((e as Error).message, `${join(dir, 'sub.json')}: cannot read: is a directory`)
    }
  }
})

test('loadStateFileSync returns the same value as loadStateFile', async () => {
  const file = join(dir, 'ok.json')
  writeFileSync(file, JSON.stringify({ttl: 60, pools: [{name: 'p', servers: [{address: '2001:DB8::1'}]}]}))
  const a = await loadStateFile(file, lbSchema)
  assert.equal(a, loadStateFileSync(file, lbSchema))
  assert.is(a.pools[0]!.servers[0]!.address, '2001:db8::1')
  assert.is(a.pools[0]!.servers[0]!.weight, 1)
})

// Secrets: a value under a field named like a secret, or under "keys", never appears in any message, whatever
// is wrong with it or around it (wrong type, bad base64, a syntax error inside or right after it).
test('a secret never appears in an error message (property)', () => {
  const secretText = fc.string({minLength: 6, maxLength: 40, unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=!? '.split(''))})
    .filter((s) => s.trim().length >= 6)
  const schema = z.object({keys: z.array(tsigKey), token: z.string().regex(/^t-/).optional(), ttl})
  const breakers: Array<(s: string) => string> = [
    (s) => `{"ttl": 1, "keys": [{"name": "k", "secret": ${JSON.stringify(s + '!')}}]}`, // bad base64
    (s) => `{"ttl": 1, "keys": [{"name": ${JSON.stringify(s)}, "secret": 5}]}`, // bad name under keys
    (s) => `{"ttl": 1, "keys": [], "token": ${JSON.stringify(s)}}`, // fails a regex
    (s) => `{"ttl": 1, "keys": [{"name": "k", "secret": "${s}\n"}]}`, // syntax error inside the secret
    (s) => `{"ttl": 1, "keys": [{"name": "k", "secret": "${s}"} x]}`, // syntax error after it
    (s) => `{"ttl": 1, "keys": [{"name": "k", "secret": "${s}`, // unterminated
    (s) => `{"ttl": "${s}", "keys": [{"name": "k", "secret": "${s}"}]}`.replace('"ttl": "' + s + '"', '"ttl": 1') + ' ',
  ]
  fc.assert(fc.property(secretText, fc.integer({min: 0, max: breakers.length - 1}), (secret, k) => {
    const text = breakers[k]!(secret)
    try {
      parseStateText('keys.json', text, schema)
    } catch (e) {
      const m = (e as Error).message
      assert.not.ok(m.includes(secret), `message leaks the secret: ${m}`)
      assert.not.ok(JSON.stringify(e).includes(secret), 'error fields leak the secret')
      return
    }
    // Only the last breaker may parse (it is valid when the secret happens to be base64).
    assert.is(k, breakers.length - 1)
  }), {numRuns: 500})
})

test.after(() => rmSync(dir, {recursive: true, force: true}))
test.run()
