// What each hop records besides the reply: EDNS problems (a pre-EDNS server's FORMERR, then asked again without
// EDNS; BADVERS; no OPT echoed), TCP after TC, and the RTT; against small loopback servers of each kind.
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {RRType} from '../../src/dns/wire/constants.js'
import {IterativeResolver} from '../../src/resolver/iterative-resolver.js'
import {startMiniAuth, type MiniAuth, type MiniAuthOptions} from '../helpers/mini-auth.js'
import {freePort} from '../helpers/servers.js'

const NET = '127.0.143'
const ROOT = `${NET}.9`
const KINDS = ['echo', 'none', 'formerr', 'badvers'] as const
const addr = (i: number) => `${NET}.${i + 1}`

async function withServers(fn: (port: number, servers: MiniAuth[]) => Promise<void>): Promise<void> {
  const port = await freePort(ROOT)
  const servers: MiniAuth[] = []
  try {
    servers.push(await startMiniAuth({address: ROOT, port, zone: '.', records: KINDS.flatMap((k, i) => [
      {name: `${k}.test`, type: 'NS', data: `ns.${k}.test`}, {name: `ns.${k}.test`, type: 'A', data: addr(i)},
    ])}))
    for (const [i, k] of KINDS.entries()) {
      const o: MiniAuthOptions = {address: addr(i), port, zone: `${k}.test`, edns: k, records: [
        {name: `${k}.test`, type: 'NS', data: `ns.${k}.test`}, {name: `ns.${k}.test`, type: 'A', data: addr(i)},
        {name: `www.${k}.test`, type: 'A', data: '192.0.2.1'},
        {name: `big.${k}.test`, type: 'TXT', data: Array.from({length: 12}, (_, j) => `${j} ${'x'.repeat(200)}`)},
      ]}
      servers.push(await startMiniAuth(o))
    }
    await fn(port, servers)
  } finally {
    await Promise.all(servers.map((s) => s.stop()))
  }
}

test('EDNS problems are recorded per hop; a pre-EDNS server is asked again without EDNS and its answer used', async () => {
  await withServers(async (port) => {
    const resolver = () => new IterativeResolver({startServers: [ROOT], port, queryTimeoutMs: 1000})
    const last = async (name: string) => {
      const r = await resolver().resolve(name, RRType.A)
      return {r, hop: r.hops.at(-1)!}
    }
    const echo = await last('www.echo.test')
    assert.is(echo.r.status, 'answer')
    assert.ok(echo.r.hops.every((h) => h.ednsProblem === undefined), JSON.stringify(echo.r.hops.map((h) => h.ednsProblem)))

    const none = await last('www.none.test')
    assert.is(none.r.status, 'answer')
    assert.is(none.hop.ednsProblem, 'no OPT in the reply to a query with EDNS (RFC 6891 §7)')

    const formerr = await last('www.formerr.test')
    assert.is(formerr.r.status, 'answer', JSON.stringify(formerr.r.failure))
    assert.equal(formerr.r.answer.map((a) => a.data), ['192.0.2.1'])
    assert.is(formerr.hop.ednsProblem, 'FORMERR to a query with EDNS (no OPT in the reply): asked again without EDNS')
    assert.is(formerr.hop.rcode, 'NOERROR')

    const badvers = await last('www.badvers.test')
    assert.is(badvers.r.status, 'failed')
    assert.equal([badvers.hop.rcode, badvers.hop.ednsProblem], ['BADVERS', 'BADVERS to an EDNS version 0 query'])
  })
})

test('a truncated UDP reply is asked again over TCP: the hop says tcp, with its RTT', async () => {
  await withServers(async (port) => {
    const r = await new IterativeResolver({startServers: [ROOT], port, queryTimeoutMs: 1000}).resolve('big.echo.test', RRType.TXT)
    assert.is(r.status, 'answer')
    const hop = r.hops.at(-1)!
    assert.equal([hop.transport, hop.kind], ['tcp', 'answer'])
    assert.ok(typeof hop.rttMs === 'number' && hop.rttMs > 0)
    assert.ok(r.hops.slice(0, -1).every((h) => h.transport === 'udp'))
  })
})

test.run()
