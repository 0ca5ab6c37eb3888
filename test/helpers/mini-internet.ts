// Test helper: a small "internet" on loopback from real servers nobody here wrote: the root zone on NSD, the TLD
// test. on Knot, customer domains on BIND (example.test., whose glb.example.test. is delegated to the caller's
// DNS-Bs, plus lame.test. and glue.test. built to be wrong), all on one port; and one glb-side stand-in that drops
// EDNS (no real server here can be told to: see `noEdns`). Zone files, configs and logs live in a temporary folder.
import {spawn, execFileSync, type ChildProcess} from 'node:child_process'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {buildQuery, exchange} from '../../src/dns/client.js'
import {Flag, Rcode, RRType} from '../../src/dns/wire/constants.js'
import {startMiniAuth, type MiniAuth} from './mini-auth.js'

/** Where each server of the internet listens (all on the same port). */
export const INTERNET = {
  /** NSD: the root zone `.`, one root server a.root-servers.lab. */
  root: '127.0.152.1',
  /** Knot: test. (ns1.nic.test.). */
  tld: '127.0.153.1',
  /** BIND: example.test., lame.test., glue.test. */
  customer: '127.0.154.1',
  /** BIND as well, in a view with no zones: REFUSED for everything (ns2.lame.test. points here: lame). */
  refusing: '127.0.154.2',
  /** What glue.test.'s own zone says ns1.glue.test. is; the parent's glue says `customer`. Nothing listens here. */
  glueChild: '127.0.154.3',
  /** Stand-in (test/helpers/mini-auth.ts with edns 'none'): noedns.test., answers without OPT to EDNS queries. */
  noEdns: '127.0.155.1',
  /** Private resolv.conf of the dig +trace namespace: nothing listens, so dig's own lookups stay on loopback. */
  deadResolver: '127.0.159.53',
} as const

/** Addresses BIND listens on: named binds only addresses present on an interface, so these are added to lo. */
const BIND_ADDRESSES = [INTERNET.customer, INTERNET.refusing]

export interface MiniInternet {
  port: number
  dir: string
  /** A named.root-format hints file naming the loopback root (for `glb trace --root-hints`). */
  hintsFile: string
  /** Every NS name of the internet and its address, for a private /etc/hosts (dig +trace ignores glue). */
  nsAddresses: Record<string, string>
  stop(): Promise<void>
}

export interface DelegatedServer {
  name: string
  address: string
}

const soa = (mname: string, rname: string) => `@ IN SOA ${mname} ${rname} 1 3600 600 86400 60`

/**
 * Starts the internet on `port`: glb.example.test. delegated to `dnsBs` (NS names inside glb.example.test., glue
 * given), www.example.test. a CNAME to `www.glb.example.test.`. Waits (bounded) until every zone answers.
 */
export async function startMiniInternet(port: number, dnsBs: DelegatedServer[], extraHosts: Record<string, string> = {}): Promise<MiniInternet> {
  const dir = mkdtempSync(join(tmpdir(), 'glb-mini-internet-'))
  const children: Array<{name: string; child: ChildProcess; log: () => string}> = []
  const added: string[] = []
  let standIn: MiniAuth | undefined
  const stop = async () => {
    await standIn?.stop()
    await Promise.all(children.map((c) => stopChild(c.child)))
    for (const a of added) {
      try {
        execFileSync('ip', ['addr', 'del', `${a}/32`, 'dev', 'lo'], {stdio: 'ignore'})
      } catch {
        // already gone
      }
    }
    rmSync(dir, {recursive: true, force: true})
  }
  try {
    const zones: Record<string, string> = {
      'root.zone': [`$TTL 86400`, soa('a.root-servers.lab.', 'hostmaster.root-servers.lab.'),
        '@ IN NS a.root-servers.lab.', `a.root-servers.lab. IN A ${INTERNET.root}`,
        'test. 172800 IN NS ns1.nic.test.', `ns1.nic.test. 172800 IN A ${INTERNET.tld}`].join('\n'),
      'test.zone': [`$TTL 3600`, soa('ns1.nic.test.', 'hostmaster.nic.test.'), '@ IN NS ns1.nic.test.', `ns1.nic IN A ${INTERNET.tld}`,
        'example IN NS ns1.example.test.', `ns1.example IN A ${INTERNET.customer}`,
        // lame.test.: ns2 is a BIND address that serves no zone (REFUSED): a lame delegation.
        'lame IN NS ns1.lame.test.', 'lame IN NS ns2.lame.test.', `ns1.lame IN A ${INTERNET.customer}`, `ns2.lame IN A ${INTERNET.refusing}`,
        // glue.test.: the glue here says customer; the child's own A for ns1.glue.test. says glueChild.
        'glue IN NS ns1.glue.test.', `ns1.glue IN A ${INTERNET.customer}`,
        'noedns IN NS ns1.noedns.test.', `ns1.noedns IN A ${INTERNET.noEdns}`].join('\n'),
      'example.test.zone': [`$TTL 300`, soa('ns1.example.test.', 'hostmaster.example.test.'), '@ IN NS ns1.example.test.',
        `ns1 IN A ${INTERNET.customer}`, 'www IN CNAME www.glb.example.test.',
        ...dnsBs.map((b) => `glb IN NS ${b.name}`), ...dnsBs.map((b) => `${b.name} IN A ${b.address}`)].join('\n'),
      'lame.test.zone': [`$TTL 300`, soa('ns1.lame.test.', 'hostmaster.lame.test.'), '@ IN NS ns1.lame.test.', '@ IN NS ns2.lame.test.',
        `ns1 IN A ${INTERNET.customer}`, `ns2 IN A ${INTERNET.refusing}`, 'www IN A 192.0.2.10'].join('\n'),
      'glue.test.zone': [`$TTL 300`, soa('ns1.glue.test.', 'hostmaster.glue.test.'), '@ IN NS ns1.glue.test.',
        `ns1 IN A ${INTERNET.glueChild}`, 'www IN A 192.0.2.20'].join('\n'),
    }
    for (const [file, text] of Object.entries(zones)) writeFileSync(join(dir, file), text + '\n')

    writeFileSync(join(dir, 'nsd.conf'), [
      'server:', `  ip-address: ${INTERNET.root}@${port}`, '  username: ""', '  database: ""', '  chroot: ""',
      `  zonesdir: "${dir}"`, `  pidfile: "${dir}/nsd.pid"`, `  xfrdfile: "${dir}/xfrd.state"`, `  zonelistfile: "${dir}/zone.list"`,
      `  xfrdir: "${dir}"`, '  verbosity: 1', 'remote-control:', '  control-enable: no',
      'zone:', '  name: "."', '  zonefile: "root.zone"', ''].join('\n'))
    writeFileSync(join(dir, 'knot.conf'), [
      'server:', `  listen: ${INTERNET.tld}@${port}`, `  rundir: "${dir}"`, 'database:', `  storage: "${dir}/knotdb"`,
      'log:', '  - target: stderr', '    any: info', 'template:', '  - id: default', `    storage: "${dir}"`, '    file: "%s.zone"',
      'zone:', '  - domain: test.', ''].join('\n'))
    const zone = (name: string) => `  zone "${name}" { type primary; file "${name}.zone"; };`
    writeFileSync(join(dir, 'named.conf'), [
      'options {', `  directory "${dir}";`, `  pid-file "${dir}/named.pid";`, `  session-keyfile "${dir}/session.key";`,
      `  managed-keys-directory "${dir}";`, `  listen-on port ${port} { ${BIND_ADDRESSES.join('; ')}; };`, '  listen-on-v6 { none; };',
      '  recursion no;', '  dnssec-validation no;', '  notify no;', '};', 'controls { };',
      // A view with no zones at `refusing`: BIND itself answers REFUSED there (no recursion, no zone).
      `view refusing { match-destinations { ${INTERNET.refusing}; }; };`,
      'view main {', zone('example.test'), zone('lame.test'), zone('glue.test'), '};', ''].join('\n'))
    const hints = join(dir, 'named.root')
    writeFileSync(hints, `; the mini internet's root\n.  3600000  NS  a.root-servers.lab.\na.root-servers.lab.  3600000  A  ${INTERNET.root}\n`)

    for (const a of BIND_ADDRESSES) {
      const present = execFileSync('ip', ['-4', '-o', 'addr', 'show', 'dev', 'lo'], {encoding: 'utf8'}).includes(` inet ${a}/`)
      if (present) continue
      execFileSync('ip', ['addr', 'add', `${a}/32`, 'dev', 'lo'], {stdio: 'ignore'})
      added.push(a)
    }
    children.push(start('nsd', ['-d', '-c', join(dir, 'nsd.conf')]))
    children.push(start('knotd', ['-c', join(dir, 'knot.conf')]))
    children.push(start('named', ['-g', '-n', '1', '-c', join(dir, 'named.conf')]))
    standIn = await startMiniAuth({address: INTERNET.noEdns, port, zone: 'noedns.test', edns: 'none', records: [
      {name: 'noedns.test', type: 'SOA', data: {mname: 'ns1.noedns.test', rname: 'hostmaster.noedns.test', serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum: 60}},
      {name: 'noedns.test', type: 'NS', data: 'ns1.noedns.test'}, {name: 'ns1.noedns.test', type: 'A', data: INTERNET.noEdns},
      {name: 'www.noedns.test', type: 'A', data: '192.0.2.30'}]})

    const ready: Array<[string, string]> = [[INTERNET.root, '.'], [INTERNET.tld, 'test.'], [INTERNET.customer, 'example.test.'],
      [INTERNET.customer, 'lame.test.'], [INTERNET.customer, 'glue.test.']]
    const deadline = Date.now() + 20_000
    for (const [address, zoneName] of ready) {
      for (;;) {
        const ok = await exchange(address, buildQuery(zoneName, RRType.SOA, {rd: false}), {port, timeoutMs: 300})
          .then((r) => r.message.rcode === Rcode.NOERROR && (r.message.header.flags & Flag.AA) !== 0, () => false)
        if (ok) break
        const dead = children.find((c) => c.child.exitCode !== null || c.child.signalCode !== null)
        if (dead || Date.now() > deadline) {
          throw new Error(`mini internet: ${zoneName} at ${address}#${port} not served${dead ? `; ${dead.name} exited` : ''}: ` +
            children.map((c) => `${c.name}: ${c.log().trim().split('\n').slice(-4).join(' | ')}`).join(' // '))
        }
        await new Promise((r) => setTimeout(r, 100))
      }
    }
  } catch (err) {
    await stop()
    throw err
  }
  const nsAddresses: Record<string, string> = {
    'a.root-servers.lab': INTERNET.root, 'ns1.nic.test': INTERNET.tld, 'ns1.example.test': INTERNET.customer,
    'ns1.lame.test': INTERNET.customer, 'ns2.lame.test': INTERNET.refusing, 'ns1.glue.test': INTERNET.customer, 'ns1.noedns.test': INTERNET.noEdns,
    ...Object.fromEntries(dnsBs.map((b) => [b.name.replace(/\.$/, ''), b.address])), ...extraHosts,
  }
  return {port, dir, hintsFile: join(dir, 'named.root'), nsAddresses, stop}
}

/** Starts a server in the foreground, its output kept for error messages; killed if the test process exits. */
function start(name: string, args: string[]): {name: string; child: ChildProcess; log: () => string} {
  const child = spawn(name, args, {stdio: ['ignore', 'pipe', 'pipe']})
  let log = ''
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (log = (log + d).slice(-4000)))
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (log = (log + d).slice(-4000)))
  child.on('error', (e) => (log += `\n${e.message}`))
  const kill = () => child.kill('SIGKILL')
  process.once('exit', kill)
  child.once('exit', () => process.off('exit', kill))
  return {name, child, log: () => log}
}

/** SIGTERM, then SIGKILL after 3 s; resolves when the process has gone. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((r) => child.once('exit', () => r()))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000)
  await exited
  clearTimeout(timer)
}
