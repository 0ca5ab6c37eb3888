// A V8 code cache for the CommonJS modules the CLI loads (mostly @oclif/core and its dependencies).
//
// Node >= 22.1 has module.enableCompileCache(), which we use whenever it exists. The rest of this file is the
// fallback for older Node (20 is what glb supports): nothing built in does it there, and v8-compile-cache
// breaks `import()` inside CommonJS (oclif loads ESM commands that way). This small hook compiles with
// vm.Script and stores V8's cached data in one file per Node version under the user's cache directory. A
// module whose text has an `import(` is left to Node: on Node 20, code compiled from cached data loses the
// dynamic-import callback. Kept because it is measured to help on Node 20.20 (2026-12-06, 2 cores under a
// load of 6-8, hyperfine 30-40 runs, warm cache vs NODE_DISABLE_COMPILE_CACHE=1): CPU per start (user+sys)
// 8-26 ms less for `glb --help` and 14-20 ms less for `glb resolve --help` (~190 ms); wall times varied too
// much under that load to show more. Delete it when glb requires Node >= 22.1.
import {createHash} from 'node:crypto'
import {mkdirSync, readFileSync, renameSync, statSync, writeFileSync} from 'node:fs'
import Module from 'node:module'
import {homedir} from 'node:os'
import {dirname, join} from 'node:path'
import vm from 'node:vm'

interface InternalModule {
  exports: unknown
  require(id: string): unknown
  filename: string
}
type CompileFn = (this: InternalModule, content: string, filename: string, format?: string) => unknown
interface ModuleInternals {
  prototype: {_compile: CompileFn}
  wrap(script: string): string
  _resolveFilename(request: string, parent: unknown, isMain: boolean, options?: unknown): string
  _extensions: unknown
  _cache: unknown
  enableCompileCache?: (dir?: string) => unknown
}

const KEY_BYTES = 20 // sha1
const DYNAMIC_IMPORT = /\bimport\s*\(/

/** Default location: $XDG_CACHE_HOME/glb (or ~/.cache/glb), one file per Node version and architecture. */
export function defaultCacheFile(): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache')
  return join(base, 'glb', `v8-compile-cache-${process.version}-${process.arch}.bin`)
}

/** Turns the cache on for every CommonJS module loaded after this call. Never throws: a cache is optional. */
export function enableCompileCache(file = defaultCacheFile()): void {
  if (process.env.NODE_DISABLE_COMPILE_CACHE) return
  const M = Module as unknown as ModuleInternals
  if (typeof M.enableCompileCache === 'function') {
    M.enableCompileCache(join(dirname(file), 'node-compile-cache'))
    return
  }
  const cached = readCache(file)
  const fresh = new Map<string, vm.Script>()
  const original = M.prototype._compile
  M.prototype._compile = function (this: InternalModule, content: string, filename: string, format?: string) {
    if ((format !== undefined && format !== 'commonjs') || DYNAMIC_IMPORT.test(content)) {
      return original.call(this, content, filename, format)
    }
    // V8 checks only the source length against its cached data, so the key covers the text itself.
    const key = createHash('sha1').update(filename).update('\0').update(content).digest().toString('latin1')
    const source = M.wrap(content.startsWith('#!') ? '//' + content.slice(2) : content)
    let script: vm.Script
    try {
      script = new vm.Script(source, {filename, cachedData: cached.get(key)})
    } catch {
      return original.call(this, content, filename, format) // let Node report the error (or load what it can)
    }
    if (!cached.has(key) || script.cachedDataRejected) fresh.set(key, script)
    const mod = this
    const require = Object.assign((id: string) => mod.require(id), {
      resolve: (request: string, options?: unknown) => M._resolveFilename(request, mod, false, options),
      main: (process as {mainModule?: unknown}).mainModule,
      extensions: M._extensions,
      cache: M._cache,
    })
    const fn = script.runInThisContext({displayErrors: true}) as (...a: unknown[]) => unknown
    return fn.call(mod.exports, mod.exports, require, mod, filename, dirname(filename))
  }
  process.once('exit', () => {
    if (fresh.size > 0) writeCache(file, cached, fresh)
  })
}

/** Format: repeated [20-byte key][u32 length][cached data]. A missing, foreign or damaged file is an empty cache. */
function readCache(file: string): Map<string, Buffer> {
  const entries = new Map<string, Buffer>()
  try {
    const st = statSync(file)
    if (typeof process.getuid === 'function' && st.uid !== process.getuid()) return entries // not ours: never trust it
    const buf = readFileSync(file)
    let at = 0
    while (at + KEY_BYTES + 4 <= buf.length) {
      const key = buf.toString('latin1', at, at + KEY_BYTES)
      const len = buf.readUInt32LE(at + KEY_BYTES)
      at += KEY_BYTES + 4
      if (at + len > buf.length) return new Map()
      entries.set(key, buf.subarray(at, at + len))
      at += len
    }
  } catch {
    // no cache yet
  }
  return entries
}

function writeCache(file: string, old: Map<string, Buffer>, fresh: Map<string, vm.Script>): void {
  try {
    const parts: Buffer[] = []
    const add = (key: string, data: Buffer): void => {
      const head = Buffer.alloc(KEY_BYTES + 4)
      head.write(key, 0, 'latin1')
      head.writeUInt32LE(data.length, KEY_BYTES)
      parts.push(head, data)
    }
    for (const [key, data] of old) if (!fresh.has(key)) add(key, data)
    for (const [key, script] of fresh) add(key, script.createCachedData())
    mkdirSync(dirname(file), {recursive: true, mode: 0o700})
    const tmp = `${file}.${process.pid}.tmp`
    writeFileSync(tmp, Buffer.concat(parts), {mode: 0o600})
    renameSync(tmp, file) // concurrent writers: the last rename wins, each file is whole
  } catch {
    // a read-only home or a full disk only costs the next start its speed
  }
}
