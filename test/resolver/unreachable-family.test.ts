// A host without IPv6 pays for it once: the first IPv6 server that fails locally (ENETUNREACH) takes IPv6 out of
// use for that resolver. Run in a network namespace with only `lo`, so nothing can leave the machine.
// glb-test-timeout: 60
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {execFileSync} from 'node:child_process'
import {requires} from '../helpers/env.js'
import {runTool} from '../helpers/run-tool.js'

const need = requires(['root', 'ip'], test)
const NS = `glbtrace-${process.pid}`
const child = new URL('./unreachable-family-child.ts', import.meta.url).pathname

need.test('one IPv6 failure, then IPv4 only: the second IPv6 start server is never tried, in this or the next resolution', async () => {
  execFileSync('ip', ['netns', 'add', NS])
  try {
    execFileSync('ip', ['netns', 'exec', NS, 'ip', 'link', 'set', 'lo', 'up'])
    const r = await runTool('ip', ['netns', 'exec', NS, process.execPath, '--import', 'tsx', child], {timeoutMs: 30_000})
    assert.is(r.code, 0, r.stderr)
    const {first, second} = JSON.parse(r.stdout)
    assert.is(first.status, 'answer', JSON.stringify(first))
    assert.equal(first.hops.map((h: {server: string; kind: string}) => `${h.server} ${h.kind}`), ['2001:db8::53 error', '127.0.0.1 nodata', '127.0.0.1 answer'])
    assert.match(first.hops[0].note, /ENETUNREACH/)
    assert.is(second.status, 'answer')
    assert.ok(second.hops.every((h: {server: string}) => h.server === '127.0.0.1'), JSON.stringify(second.hops))
  } finally {
    execFileSync('ip', ['netns', 'del', NS])
  }
})

test.run()
