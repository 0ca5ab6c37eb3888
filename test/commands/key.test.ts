// glb key create / glb key ds through the CLI: the file, the printed DS, --json, and exit codes 1 and 2.
// glb-test-timeout: 90
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {mkdtempSync, rmSync, statSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {runGlb} from '../helpers/cli.js'

test('key create writes a 0600 file and prints its DS; key ds prints the same; errors exit 2 (usage) and 1', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'glb-keycmd-'))
  try {
    const out = join(dir, 'example.test.key')
    const r = await runGlb(['key', 'create', '--zone', 'example.test', '--algorithm', '15', '--out', out])
    assert.is(r.code, 0, r.stderr)
    assert.match(r.stdout, /^example\.test\. IN DS (\d+) 15 2 [0-9A-F]{64}\nexample\.test\. IN DNSKEY 257 3 15 \S+\n$/)
    assert.match(r.stderr, /wrote .*example\.test\.key \(key tag \d+, algorithm 15, mode 0600\)/)
    assert.is(statSync(out).mode & 0o777, 0o600)
    const ds = await runGlb(['key', 'ds', '--key', out, '--json'])
    assert.is(ds.code, 0, ds.stderr)
    assert.is(JSON.parse(ds.stdout).ds, r.stdout.split('\n')[0])
    const again = await runGlb(['key', 'create', '--zone', 'example.test', '--out', out])
    assert.is(again.code, 1)
    assert.match(again.stderr, /exists; glb never overwrites a key/)
    const badAlg = await runGlb(['key', 'create', '--zone', 'example.test', '--algorithm', '8', '--out', join(dir, 'x')])
    assert.is(badAlg.code, 2, badAlg.stderr)
    const badExpiry = await runGlb(['key', 'create', '--zone', 'example.test', '--expires', 'tomorrow', '--out', join(dir, 'y'), '--json'])
    assert.is(badExpiry.code, 2, badExpiry.stdout)
    assert.match(JSON.parse(badExpiry.stdout).error.message, /--expires: expected a UTC time in ISO 8601 form/)
  } finally {
    rmSync(dir, {recursive: true, force: true})
  }
})

test.run()
