// jsonChunks produces exactly JSON.stringify(v, null, indent) + "\n", in bounded chunks.
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import * as fc from 'fast-check'
import {jsonChunks} from '../../src/state/json-chunks.js'

// Values with what JSON.stringify treats specially: undefined (omitted in objects, null in arrays), toJSON,
// and containers big enough to be walked and batched (chunkChars is tiny so chunks are cut everywhere).
const special = fc.constantFrom(undefined, new Date(0), {toJSON: () => ({x: [1]})}, '__proto__')
const value = fc.letrec((tie) => ({
  v: fc.oneof({depthSize: 'small'}, fc.jsonValue({maxDepth: 1}), special, tie('arr'), tie('obj')),
  arr: fc.array(tie('v'), {maxLength: 8}),
  obj: fc.dictionary(fc.oneof(fc.string({maxLength: 4}), fc.constant('__proto__')), tie('v'), {maxKeys: 8}),
})).v

test('output equals JSON.stringify for random values, indents and chunk sizes', () => {
  fc.assert(fc.property(value.filter((v) => v !== undefined), fc.constantFrom(0, 1, 2, 4), fc.integer({min: 1, max: 64}), (v, indent, chunk) => {
    assert.is([...jsonChunks(v, indent, chunk)].join(''), JSON.stringify(v, null, indent) + '\n')
  }), {numRuns: 3000})
})

test('large arrays and objects are batched, still exact, and chunks stay near the bound', () => {
  const arr = Array.from({length: 5000}, (_, i) => (i % 7 === 0 ? {i, deep: {a: [i, {b: i}]}} : i % 11 === 0 ? undefined : {i, s: `x${i}`}))
  const obj = Object.fromEntries(Array.from({length: 3000}, (_, i) => [`k${i}`, i % 9 === 0 ? [i, [i]] : i % 13 === 0 ? undefined : i]))
  for (const v of [{arr}, obj, [obj, arr], Array.from({length: 5000}, (_, i) => i)]) {
    for (const indent of [0, 2]) {
      const chunks = [...jsonChunks(v, indent, 4096)]
      assert.is(chunks.join(''), JSON.stringify(v, null, indent) + '\n')
      assert.ok(chunks.length >= Math.floor(chunks.join('').length / (2 * 4096 + 64 * 1024)), `${chunks.length} chunks`)
      assert.ok(chunks.length > 2, `${chunks.length} chunks`)
      assert.ok(Math.max(...chunks.map((c) => c.length)) < 4096 + 64 * 1024, 'one batch is bounded')
    }
  }
})

test('cycles and top-level undefined are refused', () => {
  const a: Record<string, unknown> = {x: [1, 2]}
  a.self = {back: a}
  assert.throws(() => [...jsonChunks(a)], /circular/)
  assert.throws(() => [...jsonChunks(undefined)], /JSON value/)
})

test.run()
