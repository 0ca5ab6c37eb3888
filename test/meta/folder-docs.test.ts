// Every src folder explains itself: it has a README.md and a row in docs/ARCHITECTURE.md's folder table.
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {existsSync, readdirSync, readFileSync, statSync} from 'node:fs'
import {join, relative} from 'node:path'

const repo = new URL('../..', import.meta.url).pathname

/** Every folder under src/, as `src/...`, except the oclif topic folders under src/commands (that README covers them). */
function srcFolders(dir = join(repo, 'src')): string[] {
  const out: string[] = []
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name)
    if (!statSync(p).isDirectory()) continue
    const rel = relative(repo, p)
    if (rel.startsWith('src/commands/')) continue
    out.push(rel, ...srcFolders(p))
  }
  return out
}

/** The `src/...` paths in the first column of ARCHITECTURE.md's folder table. */
function tableRows(): string[] {
  const doc = readFileSync(join(repo, 'docs/ARCHITECTURE.md'), 'utf8')
  return [...doc.matchAll(/^\| `(src\/[^`]+)` \|/gm)].map((m) => m[1]!)
}

test('every src folder has a README.md', () => {
  const folders = srcFolders()
  assert.ok(folders.includes('src/dns/wire'), 'nested folders are walked')
  assert.equal(folders.filter((f) => !existsSync(join(repo, f, 'README.md'))), [])
})

test('ARCHITECTURE.md\'s folder table lists every src folder, and every row names a path that exists', () => {
  const rows = tableRows()
  assert.equal(srcFolders().filter((f) => !rows.includes(f)), [])
  assert.equal(rows.filter((r) => !existsSync(join(repo, r))), [])
})

test.run()
