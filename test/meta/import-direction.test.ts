// The layering of docs/ARCHITECTURE.md held by test: every import between src folders must be an allowed edge.
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {readdirSync, readFileSync, statSync} from 'node:fs'
import {dirname, join, relative} from 'node:path'
import ts from 'typescript'

const repo = new URL('../..', import.meta.url).pathname
const src = join(repo, 'src')

/**
 * Which src folder may import which: the layering line of docs/ARCHITECTURE.md spelled out, a little tighter
 * (only commands import lab; only commands, status and lab import roles). A folder may import only what its
 * row lists, and its own files, except that nothing imports a command, not even another command. Nothing
 * lists `commands`; `dns` lists nothing (it imports nothing of glb's). A new src folder needs a row here
 * and a place in ARCHITECTURE.md's line.
 */
const ALLOWED: Record<string, readonly string[]> = {
  commands: ['cli', 'status', 'roles', 'lab', 'resolver', 'registration', 'select', 'mapping', 'observe', 'probe', 'dnssec', 'state', 'dns'],
  // Shared flags and their checks: turn flags into core options, so they may name core types.
  cli: ['resolver', 'registration', 'select', 'mapping', 'observe', 'probe', 'state', 'dns'],
  // `glb status` reads each role's state file with that role's schema.
  status: ['roles', 'resolver', 'registration', 'select', 'mapping', 'observe', 'probe', 'state', 'dns'],
  roles: ['resolver', 'registration', 'select', 'mapping', 'observe', 'probe', 'dnssec', 'state', 'dns'],
  lab: ['roles', 'resolver', 'registration', 'select', 'mapping', 'observe', 'probe', 'dnssec', 'state', 'dns'],
  // DNS-ISP is built on the resolver; DNS-LB's second-NS relay uses its InfraCache.
  resolver: ['select', 'mapping', 'observe', 'probe', 'dnssec', 'state', 'dns'],
  registration: ['select', 'mapping', 'observe', 'probe', 'state', 'dns'],
  // select turns probe samples into health and choice.
  select: ['probe', 'state', 'dns'],
  mapping: ['probe', 'state', 'dns'],
  observe: ['probe', 'state', 'dns'],
  probe: ['dns'],
  // DNSSEC records, signing and key files (key files are state files).
  dnssec: ['state', 'dns'],
  state: ['dns'],
  dns: [],
}

/** A file's module specifiers: static imports, `export ... from`, `import type`, and `import('...')` with a literal. */
function specifiers(text: string): string[] {
  return ts.preProcessFile(text, true, true).importedFiles.map((f) => f.fileName)
}

/** The src folder a path under src belongs to (its first segment), or `outside src` for anything else. */
function folderOf(pathInSrc: string): string {
  return pathInSrc.startsWith('..') || !pathInSrc.includes('/') ? '(outside src)' : pathInSrc.split('/')[0]!
}

/** Every import between src folders that the table does not allow, as `file: specifier (from -> to)`. */
function forbiddenImports(files: Record<string, string>, allowed: Record<string, readonly string[]> = ALLOWED): string[] {
  const bad: string[] = []
  for (const [file, text] of Object.entries(files)) {
    const from = folderOf(file)
    for (const spec of specifiers(text)) {
      // Packages and node: builtins are not glb's folders; only relative specifiers point into src.
      if (!spec.startsWith('.')) continue
      const to = folderOf(relative('.', join(dirname(file), spec)))
      // A command is a leaf: not even another command imports it (shared code goes to cli or a core folder).
      if (to === 'commands') {
        bad.push(`src/${file}: '${spec}' (${from} -> commands)`)
        continue
      }
      if (to === from) continue
      if (!(allowed[from] ?? []).includes(to)) bad.push(`src/${file}: '${spec}' (${from} -> ${to})`)
    }
  }
  return bad.sort()
}

function srcFiles(dir = src): Record<string, string> {
  const out: Record<string, string> = {}
  for (const name of readdirSync(dir)) {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) Object.assign(out, srcFiles(p))
    else if (name.endsWith('.ts')) out[relative(src, p)] = readFileSync(p, 'utf8')
  }
  return out
}

test('every import between src folders is an allowed edge of the layering', () => {
  const files = srcFiles()
  assert.ok(Object.keys(files).length > 100, 'src/**/*.ts was read')
  assert.equal(forbiddenImports(files), [])
})

/** Inside src/dns: what each subfolder may import besides itself (the rest of src/dns is the server side). */
const DNS_INSIDE: Record<string, readonly string[]> = {'dns/wire': [], 'dns/tsig': ['dns/wire']}

test('inside src/dns: wire imports only wire, tsig only tsig and wire', () => {
  const bad: string[] = []
  for (const [file, text] of Object.entries(srcFiles())) {
    const sub = Object.keys(DNS_INSIDE).find((d) => file.startsWith(d + '/'))
    if (!sub) continue
    for (const spec of specifiers(text)) {
      if (!spec.startsWith('.')) continue
      const target = relative('.', join(dirname(file), spec))
      const ok = [sub, ...DNS_INSIDE[sub]!].some((d) => target.startsWith(d + '/'))
      if (!ok) bad.push(`src/${file}: '${spec}'`)
    }
  }
  assert.equal(bad, [])
})

test('every src folder has a row in the table, and the table names only src folders', () => {
  const folders = readdirSync(src).filter((n) => statSync(join(src, n)).isDirectory()).sort()
  assert.equal(Object.keys(ALLOWED).sort(), folders)
  for (const [from, tos] of Object.entries(ALLOWED)) for (const to of tos) assert.ok(to in ALLOWED, `${from} -> ${to}: no such folder`)
})

test('the table is a layering: nothing imports commands, dns imports nothing of glb\'s, and there is no cycle', () => {
  for (const [from, tos] of Object.entries(ALLOWED)) assert.not.ok(tos.includes('commands'), `${from} may import commands`)
  assert.equal(ALLOWED.dns, [])
  // Depth-first search for a cycle through the allowed edges.
  const state = new Map<string, 'open' | 'done'>()
  const visit = (f: string, path: string[]): void => {
    if (state.get(f) === 'done') return
    assert.not.ok(state.get(f) === 'open', `cycle: ${[...path, f].join(' -> ')}`)
    state.set(f, 'open')
    for (const t of ALLOWED[f]!) visit(t, [...path, f])
    state.set(f, 'done')
  }
  for (const f of Object.keys(ALLOWED)) visit(f, [])
})

test('every allowed edge points down the layering line of docs/ARCHITECTURE.md', () => {
  const doc = readFileSync(join(repo, 'docs/ARCHITECTURE.md'), 'utf8')
  const line = doc.match(/`(commands -> [^`]+)`/)?.[1]
  assert.ok(line, 'ARCHITECTURE.md has a `commands -> ... -> dns` line')
  const layer = new Map<string, number>()
  line!.split(' -> ').forEach((names, i) => { for (const n of names.split(' | ')) layer.set(n.trim(), i) })
  assert.equal([...layer.keys()].sort(), Object.keys(ALLOWED).sort(), 'the line names every src folder once')
  for (const [from, tos] of Object.entries(ALLOWED)) {
    for (const to of tos) assert.ok(layer.get(to)! > layer.get(from)!, `${from} -> ${to} is not downward in: ${line}`)
  }
})

test('the checker sees static, type-only, re-export and dynamic imports, and reports a wrong direction', () => {
  const files = {
    'dns/a.ts': "import {x} from '../roles/x.js'\nimport './wire/y.js'\n",
    'dns/wire/b.ts': "export {z} from '../../state/z.js'\n",
    'probe/c.ts': "import type {T} from '../select/t.js'\n",
    'roles/d.ts': "const m = await import('../commands/resolve.js')\n// import {no} from '../lab/comment.js'\nconst s = \"import('../lab/string.js')\"\n",
    'resolver/e.ts': "import {ok} from '../dns/wire/name.js'\nimport {Flags} from '@oclif/core'\nimport {isIP} from 'node:net'\n",
    'commands/f.ts': "import {r} from '../roles/r.js'\nimport {h} from './serve/h.js'\n",
    'commands/serve/h.ts': "import {Exit} from '../../cli/base-command.js'\n",
    'state/g.ts': "import pkg from '../../package.json'\n",
  }
  assert.equal(forbiddenImports(files), [
    "src/commands/f.ts: './serve/h.js' (commands -> commands)",
    "src/dns/a.ts: '../roles/x.js' (dns -> roles)",
    "src/dns/wire/b.ts: '../../state/z.js' (dns -> state)",
    "src/probe/c.ts: '../select/t.js' (probe -> select)",
    "src/roles/d.ts: '../commands/resolve.js' (roles -> commands)",
    "src/state/g.ts: '../../package.json' (state -> (outside src))",
  ])
})

test.run()
