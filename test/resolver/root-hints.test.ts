// Root hints: the built-in IANA named.root (checked without sending a packet), strict parsing of hints files
// with errors naming file and line, and where a resolution starts for each flag and GLB_LAB.
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {isIPv4, isIPv6} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {builtInRootHints, hintAddresses, parseRootHints, RootHintsError} from '../../src/resolver/root-hints.js'
import {chooseStartServers, LAB_ROOT, StartServersError} from '../../src/resolver/start-servers.js'

test('the built-in hints are the 13 root letters, each with one IPv4 and one IPv6 address', () => {
  const h = builtInRootHints()
  assert.equal(h.servers.map((s) => s.name), 'abcdefghijklm'.split('').map((l) => `${l}.root-servers.net.`))
  for (const s of h.servers) {
    assert.is(s.addresses.length, 2, s.name)
    assert.ok(isIPv4(s.addresses[0]!) && isIPv6(s.addresses[1]!), `${s.name}: ${s.addresses}`)
  }
  assert.is(h.servers[0]!.addresses[0], '198.41.0.4', 'a.root-servers.net')
  assert.is(h.servers[12]!.addresses[1], '2001:dc3::35', 'm.root-servers.net')
  const all = hintAddresses(h)
  assert.is(all.length, 26)
  assert.ok(all.slice(0, 13).every((a) => isIPv4(a)) && all.slice(13).every((a) => isIPv6(a)), 'IPv4 first, then IPv6')
})

test('with no flag and no GLB_LAB, resolution starts from the built-in hints; --lab and GLB_LAB=1 start at the lab root', () => {
  const internet = chooseStartServers({env: {}})
  assert.equal([internet.from, internet.servers], ['built-in', hintAddresses(builtInRootHints())])
  assert.equal(chooseStartServers({lab: true, env: {}}), {from: 'lab', servers: [LAB_ROOT]})
  assert.is(LAB_ROOT, '127.0.0.9')
  assert.equal(chooseStartServers({env: {GLB_LAB: '1'}}).servers, ['127.0.0.9'])
  assert.is(chooseStartServers({env: {GLB_LAB: '0'}}).from, 'built-in')
  assert.equal(chooseStartServers({server: ['127.0.0.10'], env: {GLB_LAB: '1'}}), {from: 'server', servers: ['127.0.0.10']})
  assert.throws(() => chooseStartServers({env: {GLB_LAB: 'yes'}}), (e: Error) => e instanceof StartServersError && /GLB_LAB=yes: expected 1/.test(e.message))
  assert.throws(() => chooseStartServers({lab: true, server: ['127.0.0.1']}), /--server and --lab: give one place/)
  assert.throws(() => chooseStartServers({server: ['nope']}), /--server nope: expected an IPv4 or IPv6 address/)
})

test('--root-hints reads a named.root-format file; bad files are refused naming file and line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'glb-hints-'))
  try {
    const file = join(dir, 'named.root')
    writeFileSync(file, [
      '; a loopback root',
      '.                        3600000      NS    A.ROOT.TEST.',
      'a.root.test.             3600000  IN  A     127.0.150.9',
      'A.ROOT.TEST.             3600000      AAAA  ::1',
      '.                        3600000      NS    b.root.test.',
      'b.root.test.                          A     127.0.150.8 ; no TTL',
    ].join('\n'))
    assert.equal(chooseStartServers({rootHints: file}), {from: 'root-hints', servers: ['127.0.150.9', '127.0.150.8', '::1'], source: file})
    const bad: Array<[string, RegExp]> = [
      ['. 1 NS a.root.test.\na.root.test. 1 A 1.2.3', /:2: A 1\.2\.3: not an IPv4 address/],
      ['. 1 NS a.root.test.\na.root.test. 1 MX 10 x.', /:2: expected "owner \[TTL\] \[IN\] TYPE RDATA"/],
      ['. 1 NS a.root.test.\na.root.test. 1 TXT x', /:2: type TXT: a hints file has NS, A and AAAA records only/],
      ['$ORIGIN .\n. 1 NS a.root.test.', /:1: expected .*no \$ directives/],
      ['. 1 NS a.root.test.\nb.root.test. 1 A 127.0.0.1', /:2: b\.root\.test\. has addresses but is not an NS of "\."/],
      ['. 1 NS a.root.test.', /no A or AAAA address for a\.root\.test\./],
      ['; nothing', /no NS records for "\."/],
      ['. 1 NS a.root.test\na.root.test. 1 A 127.0.0.1', /:1: NS a\.root\.test: expected an absolute name/],
      ['test. 1 NS a.root.test.', /:1: NS for test\.: a hints file lists the NS records of "\." only/],
    ]
    for (const [text, want] of bad) {
      writeFileSync(file, text)
      assert.throws(() => chooseStartServers({rootHints: file}), (e: Error) => e instanceof StartServersError && e.message.startsWith(file) && want.test(e.message), text)
      assert.throws(() => parseRootHints(text, 'x'), (e: Error) => e instanceof RootHintsError)
    }
    assert.throws(() => chooseStartServers({rootHints: join(dir, 'missing')}), /--root-hints .*missing: no such file/)
  } finally {
    rmSync(dir, {recursive: true, force: true})
  }
})

test.run()
