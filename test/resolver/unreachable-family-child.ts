// Run by unreachable-family.test.ts inside a network namespace that has only `lo` (no IPv6 route): a root on
// 127.0.0.1 and two IPv6 start servers that cannot be reached; prints the resolution's hops as JSON.
import {RRType} from '../../src/dns/wire/constants.js'
import {IterativeResolver} from '../../src/resolver/iterative-resolver.js'
import {AuthorityHandler} from '../../src/roles/authority/authority-handler.js'
import {Zone} from '../../src/roles/authority/zone.js'
import {runLocalServer} from '../helpers/servers.js'

const soa = {mname: 'a.root.test.', rname: 'hostmaster.test.', serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum: 60}
const root = await runLocalServer(new AuthorityHandler([new Zone('.', soa, 300, [
  {name: '.', type: RRType.NS, ttl: 300, data: 'a.root.test.'},
  {name: 'a.root.test.', type: RRType.A, ttl: 300, data: '127.0.0.1'},
  {name: 'www.test.', type: RRType.A, ttl: 300, data: '192.0.2.1'},
])]), {address: '127.0.0.1'})
try {
  const resolver = new IterativeResolver({startServers: ['2001:db8::53', '2001:db8::54', '127.0.0.1'], port: root.port, queryTimeoutMs: 3000})
  const first = await resolver.resolve('www.test.', RRType.A)
  const second = await resolver.resolve('www.test.', RRType.A)
  process.stdout.write(JSON.stringify({first, second}))
} finally {
  await root.close()
}
