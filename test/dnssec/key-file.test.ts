// Key files: written 0600 and read back to the same key; errors name the file and field (algorithm, key, expiry).
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {mkdtempSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {createKeyFile, loadKeyFile} from '../../src/dnssec/key-file.js'

function withDir(fn: (dir: string) => Promise<void> | void) {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'glb-key-'))
    try { await fn(dir) } finally { rmSync(dir, {recursive: true, force: true}) }
  }
}

for (const algorithm of [13, 15] as const) {
  test(`algorithm ${algorithm}: created with mode 0600, read back to the same key tag and DS`, withDir(async (dir) => {
    const out = join(dir, 'k.json')
    const made = await createKeyFile({zone: 'Example.Test', algorithm, out})
    assert.is(statSync(out).mode & 0o777, 0o600)
    const key = loadKeyFile(out)
    assert.is(key.zone, 'example.test.')
    assert.is(key.keyTag, made.keyTag)
    assert.match(made.ds, new RegExp(`^example\\.test\\. IN DS ${made.keyTag} ${algorithm} 2 [0-9A-F]{64}$`))
    assert.is(key.dsRecordText(), made.ds)
  }))
}

test('never overwrites an existing file', withDir(async (dir) => {
  const out = join(dir, 'k.json')
  writeFileSync(out, 'precious')
  try {
    await createKeyFile({zone: 'example.test', algorithm: 13, out})
    assert.unreachable('should refuse')
  } catch (err) {
    assert.match((err as Error).message, /exists; glb never overwrites a key/)
  }
  assert.is(readFileSync(out, 'utf8'), 'precious')
}))

test('errors name the file and the field: unknown algorithm, bad key, wrong key tag, expired, missing file', withDir(async (dir) => {
  const out = join(dir, 'k.json')
  await createKeyFile({zone: 'example.test', algorithm: 13, out})
  const good = JSON.parse(readFileSync(out, 'utf8'))
  const cases: [string, object, RegExp][] = [
    ['algorithm 8', {...good, algorithm: 8}, /k2\.json: algorithm: expected a DNSSEC algorithm glb signs with: 13 \(ECDSAP256SHA256\) or 15 \(ED25519\), got 8/],
    ['an Ed25519 file holding a P-256 key', {...good, algorithm: 15}, /k2\.json: privateKey: expected an Ed25519 key \(algorithm 15\), got an ec prime256v1 key/],
    ['a key that does not parse', {...good, privateKey: '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n'}, /k2\.json: privateKey: expected a PKCS#8 PEM private key, got one that does not parse/],
    ['a key tag of another key', {...good, keyTag: (good.keyTag + 1) % 65536}, /k2\.json: keyTag: expected \d+ \(the tag of this private key\)/],
    ['expired', {...good, expires: '2020-01-01T00:00:00Z'}, /k2\.json: expires: the key expired at 2020-01-01T00:00:00Z; create a new key/],
  ]
  for (const [what, content, re] of cases) {
    writeFileSync(join(dir, 'k2.json'), JSON.stringify(content))
    try {
      loadKeyFile(join(dir, 'k2.json'))
      assert.unreachable(`${what}: accepted`)
    } catch (err) {
      assert.match((err as Error).message, re, what)
      assert.not.match((err as Error).message, /BEGIN PRIVATE KEY/, `${what}: the secret is never shown`)
    }
  }
  assert.throws(() => loadKeyFile(join(dir, 'absent.json')), /absent\.json: cannot read: no such file/)
}))

test.run()
