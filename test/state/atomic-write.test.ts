// Crash safety: SIGKILL a writer at random moments; the file is always one complete version, never a torn one.
// glb-test-timeout: 300
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {spawn} from 'node:child_process'
import {existsSync, mkdtempSync, readdirSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {writeStateFile} from '../../src/state/write-state-file.js'

const ENTRIES = 40_000 // ~2.4 MB per version: a write takes long enough that many kills land inside one
const KILLS = 30
const BUDGET_MS = 150_000

function checkComplete(file: string): number {
  const data = JSON.parse(readFileSync(file, 'utf8')) as {version: number; entries: Array<{i: number; v: number}>}
  assert.is(data.entries.length, ENTRIES, 'all entries present')
  for (const [k, e] of data.entries.entries()) {
    if (e.i !== k || e.v !== data.version) assert.unreachable(`entry ${k} is from version ${e.v}, file is version ${data.version}`)
  }
  return data.version
}

test(`a writer killed with SIGKILL at ${KILLS} random moments always leaves one complete version`, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'glb-crash-'))
  const file = join(dir, 'big.json')
  const children: Array<ReturnType<typeof spawn>> = []
  try {
    await writeStateFile(file, {version: 0, entries: Array.from({length: ENTRIES}, (_, i) => ({i, v: 0, pad: 'x'.repeat(i % 40)}))})
    let version = 0
    let interrupted = 0
    let advanced = 0
    const started = Date.now()
    let kills = 0
    for (; kills < KILLS && Date.now() - started < BUDGET_MS; kills++) {
      const child = spawn(process.execPath, ['--import', 'tsx', new URL('./crash-writer.ts', import.meta.url).pathname, file, String(ENTRIES), String(version)], {stdio: ['ignore', 'pipe', 'inherit']})
      children.push(child)
      await new Promise<void>((resolve, reject) => {
        child.stdout!.once('data', () => resolve())
        child.once('exit', (code) => reject(new Error(`writer exited early with ${code}`)))
      })
      // Kill anywhere from before the first write to several writes in.
      await new Promise((r) => setTimeout(r, Math.random() * 700))
      const exited = new Promise((r) => child.once('exit', r))
      child.kill('SIGKILL')
      await exited
      if (readdirSync(dir).some((n) => n.startsWith(`.big.json.tmp-${child.pid}-`))) interrupted++
      assert.ok(existsSync(file), 'the file never disappears')
      const v = checkComplete(file)
      assert.ok(v >= version, 'versions only move forward')
      if (v > version) advanced++
      version = v
    }
    console.log(`  ${kills} kills: ${interrupted} interrupted a write in progress (temp file left), ${advanced} runs advanced the version, last version ${version}`)
    // The property is only tested if kills really landed mid-write and writes really happened.
    assert.ok(kills >= 10, `only ${kills} kills in the time budget`)
    assert.ok(interrupted >= 3, `only ${interrupted} kills landed inside a write`)
    assert.ok(advanced >= 2, `only ${advanced} runs completed a write`)
    // The next write in this (live) process removes the dead writers' temp files.
    await writeStateFile(file, {version: version + 1, entries: []})
    assert.equal(readdirSync(dir).filter((n) => n.includes('.tmp-')), [])
  } finally {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
    rmSync(dir, {recursive: true, force: true})
  }
})

test.run()
