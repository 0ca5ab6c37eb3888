// The mini-auth test helper answers like an authoritative server: referrals, AA answers, NODATA, NXDOMAIN, TCP.
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {execFile} from 'node:child_process'
import {promisify} from 'node:util'
import {startMiniAuth} from './mini-auth.js'
import {requires} from './env.js'

const execFileAsync = promisify(execFile)
const need = requires(['dig'], test)

/** dig +norec against the helper; async because the server answers from this same process. */
async function dig(port: number, args: string[]): Promise<string> {
  const {stdout} = await execFileAsync('dig', ['@127.0.0.9', '-p', String(port), '+norec', '+time=2', '+tries=1', ...args],
    {timeout: 10_000})
  return stdout
}

need.test('answers, refers, says NODATA and NXDOMAIN, over UDP and TCP, and records who asked', async () => {
  const s = await startMiniAuth({address: '127.0.0.9', port: 0, zone: 'example.test', records: [
    {name: 'example.test', type: 'NS', data: 'ns1.example.test'},
    {name: 'ns1.example.test', type: 'A', data: '127.0.0.9'},
    {name: 'www.example.test', type: 'CNAME', data: 'www.glb.example.test'},
    {name: 'glb.example.test', type: 'NS', data: 'b1.glb.example.test'},
    {name: 'b1.glb.example.test', type: 'A', data: '127.0.0.20'},
    {name: 'a.b.example.test', type: 'A', data: '127.0.0.30'},
  ]})
  try {
    const cases: Array<[string[], RegExp[]]> = [
      [['ns1.example.test', 'A'], [/status: NOERROR/, /flags: qr aa;/, /ns1\.example\.test\.\s+300\s+IN\s+A\s+127\.0\.0\.9/]],
      [['www.glb.example.test', 'A'], [/flags: qr;/, /AUTHORITY SECTION:\nglb\.example\.test\.\s+300\s+IN\s+NS\s+b1\.glb/, /ADDITIONAL SECTION:\n(.*\n)?b1\.glb\.example\.test\.\s+300\s+IN\s+A\s+127\.0\.0\.20/]],
      [['glb.example.test', 'DS'], [/status: NOERROR/, /flags: qr aa;/, /ANSWER: 0/]],
      [['www.example.test', 'A'], [/flags: qr aa;/, /CNAME\s+www\.glb\.example\.test\./]],
      [['b.example.test', 'A'], [/status: NOERROR/, /ANSWER: 0/, /IN\s+SOA/]],
      [['nope.example.test', 'A'], [/status: NXDOMAIN/, /flags: qr aa;/, /IN\s+SOA/]],
      [['example.org', 'A'], [/status: REFUSED/]],
      [['+tcp', 'NS1.Example.TEST', 'A'], [/status: NOERROR/, /NS1\.Example\.TEST\.\s+IN\s+A/]],
    ]
    for (const [args, want] of cases) {
      const out = await dig(s.port, args)
      for (const re of want) assert.match(out, re, `dig ${args.join(' ')}:\n${out}`)
    }
    assert.is(s.queries.length, cases.length)
    const last = s.queries.at(-1)!
    assert.equal([last.transport, last.from, last.qname, last.qtype, last.rd], ['tcp', '127.0.0.1', 'NS1.Example.TEST', 'A', false])
    assert.ok(s.queries.every((q) => q.edns === 1232 && !q.do))
    s.clear()
    assert.is(s.queries.length, 0)
  } finally {
    await s.stop()
  }
})

test.run()
