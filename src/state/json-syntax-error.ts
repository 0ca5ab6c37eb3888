// Finds where and why a text is not JSON, without echoing its content (a secret may be the broken part).
//
// JSON.parse on Node 20 reports a position for some mistakes and a quoted excerpt of the input for others
// ("Unexpected token '}', "{"secret": ..." is not valid JSON"), which may contain a secret. So after
// JSON.parse fails we run this small iterative scanner (no recursion: deep nesting cannot overflow it) to get
// the offset, line, column and a description that names only punctuation.

/** Where a JSON text first goes wrong: 0-based offset, 1-based line and column, and a short description. */
export interface JsonSyntaxProblem {
  offset: number
  line: number
  column: number
  problem: string
}

type Expect = 'value' | 'valueOrClose' | 'key' | 'keyOrClose' | 'colon' | 'commaOrClose' | 'end'

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y
const LITERAL = /true|false|null/y
const SAFE_TO_SHOW = new Set(['{', '}', '[', ']', ',', ':', '"'])

/** Returns the first syntax problem in `text`, or null when it is valid JSON. */
export function locateJsonSyntaxError(text: string): JsonSyntaxProblem | null {
  const stack: string[] = []
  let i = 0
  let expect: Expect = 'value'
  let afterComma = false
  const n = text.length
  const at = (offset: number, problem: string): JsonSyntaxProblem => ({offset, ...lineColumn(text, offset), problem})
  const next = (): Expect => (stack.length ? 'commaOrClose' : 'end')

  for (;;) {
    while (i < n && (text[i] === ' ' || text[i] === '\n' || text[i] === '\r' || text[i] === '\t')) i++
    if (i >= n) {
      if (expect === 'end') return null
      if (n === 0 || /^[\s]*$/.test(text)) return at(i, 'the file is empty')
      const open = stack.at(-1)
      return at(i, open ? `unexpected end of file: '${open}' is never closed` : 'unexpected end of file')
    }
    const c = text[i]!
    switch (expect) {
      case 'end':
        return at(i, 'more data after the end of the JSON value')
      case 'keyOrClose':
      case 'key':
        if (c === '}' && (expect === 'keyOrClose' || afterComma)) {
          if (afterComma) return at(i, "trailing comma before '}'")
          stack.pop(); i++; expect = next(); continue
        }
        if (c !== '"') return at(i, c === "'" ? 'field names use double quotes' : `expected a "quoted" field name, got ${show(c)}`)
        {
          const end = scanString(text, i)
          if (typeof end !== 'number') return at(end.offset, end.problem)
          i = end
        }
        expect = 'colon'; afterComma = false
        continue
      case 'colon':
        if (c !== ':') return at(i, `expected ':' after the field name, got ${show(c)}`)
        i++; expect = 'value'
        continue
      case 'commaOrClose': {
        const close = stack.at(-1) === '{' ? '}' : ']'
        if (c === ',') { i++; afterComma = true; expect = close === '}' ? 'key' : 'value'; continue }
        if (c === close) { stack.pop(); i++; expect = next(); continue }
        return at(i, `expected ',' or '${close}', got ${show(c)}`)
      }
      case 'valueOrClose':
      case 'value':
        if (c === ']' && (expect === 'valueOrClose' || afterComma)) {
          if (afterComma) return at(i, "trailing comma before ']'")
          stack.pop(); i++; expect = next(); continue
        }
        afterComma = false
        if (c === '{') { stack.push('{'); i++; expect = 'keyOrClose'; continue }
        if (c === '[') { stack.push('['); i++; expect = 'valueOrClose'; continue }
        if (c === '"') {
          const end = scanString(text, i)
          if (typeof end !== 'number') return at(end.offset, end.problem)
          i = end; expect = next(); continue
        }
        NUMBER.lastIndex = i
        LITERAL.lastIndex = i
        if ((c === '-' || (c >= '0' && c <= '9')) && NUMBER.test(text)) { i = NUMBER.lastIndex; expect = next(); continue }
        if (LITERAL.test(text)) { i = LITERAL.lastIndex; expect = next(); continue }
        if (c === "'") return at(i, 'strings use double quotes')
        if (c === '/') return at(i, 'comments are not allowed in JSON')
        return at(i, `expected a value, got ${show(c)}`)
    }
  }
}

function scanString(text: string, start: number): number | {offset: number; problem: string} {
  let j = start + 1
  for (;;) {
    if (j >= text.length) return {offset: start, problem: 'this string is never closed'}
    const code = text.charCodeAt(j)
    if (code === 0x22) return j + 1
    if (code < 0x20) return {offset: j, problem: code === 0x0a ? 'line break inside a string (write \\n)' : 'control character inside a string'}
    if (code === 0x5c) {
      const e = text[j + 1]
      if (e === 'u') {
        if (!/^[0-9a-fA-F]{4}$/.test(text.slice(j + 2, j + 6))) return {offset: j, problem: 'bad \\u escape in a string'}
        j += 6
        continue
      }
      if (e === undefined || !'"\\/bfnrt'.includes(e)) return {offset: j, problem: 'bad escape in a string'}
      j += 2
      continue
    }
    j++
  }
}

function show(c: string): string {
  return SAFE_TO_SHOW.has(c) ? `'${c}'` : 'an unexpected character'
}

function lineColumn(text: string, offset: number): {line: number; column: number} {
  let line = 1
  let lineStart = 0
  for (let k = text.indexOf('\n'); k !== -1 && k < offset; k = text.indexOf('\n', k + 1)) {
    line++
    lineStart = k + 1
  }
  return {line, column: offset - lineStart + 1}
}
