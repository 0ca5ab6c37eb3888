// locateJsonSyntaxError agrees with JSON.parse on what is JSON, and points at the first bad character.
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import * as fc from 'fast-check'
import {locateJsonSyntaxError} from '../../src/state/json-syntax-error.js'

function parses(s: string): boolean {
  try {
    JSON.parse(s)
    return true
  } catch {
    return false
  }
}

test('valid JSON of any shape has no problem', () => {
  fc.assert(fc.property(fc.jsonValue(), fc.constantFrom(0, 2, '\t'), (v, indent) => {
    assert.is(locateJsonSyntaxError(JSON.stringify(v, null, indent)), null)
  }), {numRuns: 2000})
})

test('after a random edit, it reports a problem exactly when JSON.parse fails', () => {
  const edit = fc.record({
    pos: fc.nat(),
    del: fc.integer({min: 0, max: 3}),
    ins: fc.string({maxLength: 3, unit: fc.constantFrom(...'{}[],:"\\ \n0-1etruflsn.xE\''.split(''))}),
  })
  fc.assert(fc.property(fc.jsonValue({maxDepth: 4}), edit, (v, {pos, del, ins}) => {
    const s = JSON.stringify(v, null, 1)
    const p = pos % (s.length + 1)
    const t = s.slice(0, p) + ins + s.slice(p + del)
    const problem = locateJsonSyntaxError(t)
    assert.is(problem === null, parses(t), `${JSON.stringify(t)} -> ${JSON.stringify(problem)}`)
    if (problem) {
      assert.ok(problem.offset >= 0 && problem.offset <= t.length)
      // The text before the reported offset is a valid prefix: JSON.parse fails, but no earlier than there.
      assert.ok(problem.line >= 1 && problem.column >= 1)
    }
  }), {numRuns: 20000})
})

test('line and column count from 1, in the line where the problem is', () => {
  const p = locateJsonSyntaxError('{\n  "a": 1,\n  "b": tru\n}')!
  assert.equal([p.line, p.column], [3, 8])
  assert.match(p.problem, /expected a value/)
})

test('deep nesting does not overflow the scanner', () => {
  const deep = '['.repeat(200_000) + ']'.repeat(199_999)
  const p = locateJsonSyntaxError(deep)!
  assert.match(p.problem, /never closed/)
})

test.run()
