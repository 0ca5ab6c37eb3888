// Starts a real unbound or BIND named as a lab ISP resolver (DNS-ISP) on loopback, and stops it cleanly.
import {spawn, execFileSync} from 'node:child_process'
import type {ChildProcess} from 'node:child_process'
import {createSocket} from 'node:dgram'
import {existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync, accessSync, constants} from 'node:fs'
import {isIPv4} from 'node:net'
import {tmpdir} from 'node:os'
import {join, delimiter} from 'node:path'
import {buildQuery} from '../dns/client.js'
import {RRClass, RRType} from '../dns/wire/constants.js'
import {unboundConf, unboundStubZone} from './templates/unbound-conf.js'
import {namedConf, namedStaticStub, namedValidationInsecureLab, namedValidationLabAnchor} from './templates/named-conf.js'
import {rootHints} from './templates/root-hints.js'

export type RealResolverKind = 'unbound' | 'bind'

export interface RealResolverOptions {
  /** Address clients ask (an IPv4 address in 127.0.0.0/8). */
  listen: string
  /** Source address of every upstream query (what DNS-B sees as the asker); unbound takes several (a farm). */
  egress: string | string[]
  /** Port of the resolver's own listener; upstream servers learned from referrals are always asked on 53. */
  port?: number
  /** The lab zone, e.g. `example.test`: validation is off below it, and a stub zone (if any) is for it. */
  zone: string
  /** Stub mode: servers of `zone` as `ADDR` or `ADDR@PORT` (BIND takes no port). */
  auth?: string[]
  /** The lab root server's address for the root hints; with no `auth`, the resolver iterates from it. */
  root?: string
  /**
   * A signed lab: the lab root's DS record in presentation form (`. IN DS 12345 13 2 HEX`, as `glb key ds`
   * prints it). The resolver then validates everything from the lab root, the lab zone included; without it
   * the lab zone is insecure (unbound domain-insecure, BIND validate-except).
   */
  trustAnchor?: string
  /** Folder for configs and state; a temporary one (removed on stop) when not given. */
  runDir?: string
  /** How long to wait for the first answer, in ms (default 10 000). */
  startTimeoutMs?: number
}

export interface RealResolver {
  kind: RealResolverKind
  /** Pid of the running process (changes after flushCache). */
  readonly pid: number
  listen: string
  egress: string | string[]
  port: number
  runDir: string
  /** SIGTERM, then SIGKILL after a bound; waits for exit, removes loopback addresses it added. */
  stop(): Promise<void>
  /** Empties the cache by restarting the process with the same config (neither has a control channel). */
  flushCache(): Promise<void>
  /** Everything the process wrote to stdout and stderr (the last 256 KiB). */
  logs(): string
}

/** Lab root used in the root hints when `root` is not given (the lab layout puts it at 127.0.0.9). */
const DEFAULT_LAB_ROOT = '127.0.0.9'
const LOG_KEEP = 256 * 1024
const STOP_GRACE_MS = 5000

const binaries: Record<RealResolverKind, {bin: string; pkg: string}> = {
  unbound: {bin: 'unbound', pkg: 'unbound'},
  bind: {bin: 'named', pkg: 'bind9'},
}

// unbound 1.17 serves these names itself (RFC 6761/7686/8375 and localhost); a lab zone under one of them
// is never asked upstream unless that built-in zone is turned off. test. is always turned off because the
// root hints' NS name (a.root-servers.test.) lives there.
const UNBOUND_DEFAULT_ZONES = ['test.', 'invalid.', 'localhost.', 'onion.', 'home.arpa.', 'resolver.arpa.']

/** Starts `kind` as a recursive resolver on loopback and resolves once it answers a query. */
export async function startRealResolver(kind: RealResolverKind, opts: RealResolverOptions): Promise<RealResolver> {
  const port = opts.port ?? 53
  checkOptions(kind, opts, port)
  const egressList = Array.isArray(opts.egress) ? opts.egress : [opts.egress]
  const binary = findBinary(kind)
  const zone = opts.zone.toLowerCase().replace(/\.?$/, '.')
  const stubs = (opts.auth ?? []).map(parseServer)
  const root = opts.root ?? DEFAULT_LAB_ROOT
  const labAnchor = opts.trustAnchor === undefined ? null : parseDsRecord(opts.trustAnchor)

  if (await answersAt(opts.listen, port, 300)) {
    throw new Error(`${kind}: something already answers DNS at ${opts.listen}:${port}; stop it or pick another address`)
  }

  const ownDir = opts.runDir === undefined
  const runDir = opts.runDir ?? mkdtempSync(join(tmpdir(), `glb-${kind}-`))
  mkdirSync(runDir, {recursive: true})
  writeFileSync(join(runDir, 'root.hints'), rootHints.replaceAll('@ROOT@', root))
  const fill = (t: string) =>
    t.replaceAll('@RUN@', runDir).replaceAll('@LISTEN@', opts.listen).replaceAll('@PORT@', String(port))
      .replaceAll('@OUT@', egressList[0]!).replaceAll('@ZONE@', zone)
  let confPath: string
  let args: string[]
  if (kind === 'unbound') {
    const localZones = UNBOUND_DEFAULT_ZONES.filter((z) => z === 'test.' || zone === z || zone.endsWith('.' + z))
      .map((z) => `    local-zone: "${z}" nodefault   # unbound serves ${z} itself otherwise`).join('\n')
    // Debian's dns-root-data ships the root key; without it the validator has nothing to start from.
    const anchor = labAnchor
      ? `    trust-anchor: "${labAnchor.text}"   # the lab root's key: validate the whole lab from it\n    val-log-level: 2                # say why an answer is bogus`
      : existsSync('/usr/share/dns/root.key')
      ? '    trust-anchor-file: "/usr/share/dns/root.key"   # validator stays ON ...'
      : '    # no /usr/share/dns/root.key (package dns-root-data): validation is off'
    const stub = stubs.length === 0 ? '' : unboundStubZone.replace('@STUB_ADDRS@',
      stubs.map((s) => `    stub-addr: ${s.port === 53 ? s.addr : `${s.addr}@${s.port}`}`).join('\n'))
    // One outgoing-interface line per egress: unbound picks one at random per upstream query (a farm).
    const outs = egressList.slice(1).map((a) => `\n    outgoing-interface: ${a}`).join('')
    const insecure = labAnchor ? '    # signed lab: the lab zone is validated like any other'
      : '    domain-insecure: "@ZONE@"       # lab zone is insecure (no DS chain needed) while the validator stays on'
    const text = fill(unboundConf.replace('@LOCAL_ZONES@', localZones).replace('@TRUST_ANCHOR@', anchor).replace('@DOMAIN_INSECURE@', insecure)
      .replace('@STUB@', stub)).replace(/^( *outgoing-interface: \S+.*)$/m, (line) => line + outs)
    confPath = join(runDir, 'unbound.conf')
    writeFileSync(confPath, text)
    args = ['-d', '-c', confPath]
  } else {
    const stub = stubs.length === 0 ? '' :
      namedStaticStub.replace('@STUB_ADDRS@', stubs.map((s) => `${s.addr};`).join(' '))
    confPath = join(runDir, 'named.conf')
    const anchors = labAnchor
      ? `trust-anchors { "${labAnchor.owner}" static-ds ${labAnchor.keyTag} ${labAnchor.algorithm} ${labAnchor.digestType} "${labAnchor.digest}"; };`
      : ''
    writeFileSync(confPath, fill(namedConf.replace('@VALIDATION@', labAnchor ? namedValidationLabAnchor : namedValidationInsecureLab)
      .replace('@TRUST_ANCHORS@', anchors).replace('@STUB@', stub)))
    args = ['-g', '-4', '-c', confPath]
  }

  // named listens only on addresses present on an interface (unbound binds whatever it is told).
  const added: string[] = []
  if (kind === 'bind') {
    for (const a of new Set([opts.listen, ...egressList])) if (holdLoopbackAddress(a)) added.push(a)
  }

  let log = ''
  let child: ChildProcess | undefined
  let exited: Promise<void> = Promise.resolve()
  let stopped = false

  const launch = async () => {
    const c = spawn(binary, args, {cwd: runDir, stdio: ['ignore', 'pipe', 'pipe']})
    child = c
    live.add(c)
    const keep = (b: Buffer) => {
      log += b.toString('utf8')
      if (log.length > LOG_KEEP) log = log.slice(-LOG_KEEP)
    }
    c.stdout!.on('data', keep)
    c.stderr!.on('data', keep)
    let exitInfo: string | undefined
    exited = new Promise<void>((resolve) => {
      c.once('exit', (code, signal) => {
        exitInfo = signal ? `killed by ${signal}` : `exited ${code}`
        live.delete(c)
        resolve()
      })
      c.once('error', (err) => {
        exitInfo = `could not run ${binary}: ${err.message}`
        live.delete(c)
        resolve()
      })
    })
    const deadline = Date.now() + (opts.startTimeoutMs ?? 10_000)
    while (Date.now() < deadline) {
      if (exitInfo) break
      if (await answersAt(opts.listen, port, 200)) return
      await sleep(100)
    }
    const why = exitInfo ?? `gave no answer within ${opts.startTimeoutMs ?? 10_000} ms`
    if (!exitInfo) await terminate(c, exited)
    // A temporary run dir is removed on failure, so only a caller's own dir is worth naming.
    const where = ownDir ? '' : `; config ${confPath}`
    throw new Error(`${kind} at ${opts.listen}:${port} did not start (${why})${where}; log tail: ${tail(log)}`)
  }

  const cleanup = () => {
    for (const a of added.splice(0)) releaseLoopbackAddress(a)
    if (ownDir) rmSync(runDir, {recursive: true, force: true})
  }

  try {
    await launch()
  } catch (err) {
    cleanup()
    throw err
  }

  return {
    kind,
    get pid() {
      return child?.pid ?? -1
    },
    listen: opts.listen,
    egress: opts.egress,
    port,
    runDir,
    async stop() {
      if (stopped) return
      stopped = true
      if (child) await terminate(child, exited)
      cleanup()
    },
    async flushCache() {
      if (stopped) throw new Error(`${kind} at ${opts.listen}:${port} is stopped; start a new one`)
      if (child) await terminate(child, exited)
      await launch()
    },
    logs: () => log,
  }
}

function checkOptions(kind: RealResolverKind, opts: RealResolverOptions, port: number): void {
  // Loopback only: a lab resolver must never send a packet off the machine.
  const loopback = (a: string) => isIPv4(a) && a.startsWith('127.')
  const egress = Array.isArray(opts.egress) ? opts.egress : [opts.egress]
  if (kind === 'bind' && egress.length !== 1) throw new Error(`bind: egress ${egress.join(', ')}: BIND sends from one query-source address; give one`)
  for (const [field, value] of [['listen', opts.listen], ...egress.map((e) => ['egress', e] as const), ['root', opts.root]] as const) {
    if (value !== undefined && !loopback(value)) {
      throw new Error(`${kind}: ${field} ${value} is not an IPv4 address in 127.0.0.0/8 (the lab is loopback only)`)
    }
  }
  for (const s of opts.auth ?? []) {
    const {addr, port: p} = parseServer(s)
    if (!loopback(addr)) throw new Error(`${kind}: auth ${s} is not an IPv4 address in 127.0.0.0/8`)
    if (kind === 'bind' && p !== 53) {
      throw new Error(`bind: auth ${s} has port ${p}, but BIND's static-stub server-addresses take no port; use port 53`)
    }
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`${kind}: port ${port} is not 1-65535`)
  if (!/^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.?$/.test(opts.zone)) throw new Error(`${kind}: zone "${opts.zone}" is not a domain name`)
  if ((opts.auth ?? []).length === 0 && opts.root === undefined) {
    throw new Error(`${kind}: give auth (stub servers of ${opts.zone}) or root (the lab root to iterate from)`)
  }
}

/** A DS record's presentation text (`NAME [TTL] [IN] DS TAG ALG TYPE HEX`), checked, for both resolvers' syntax. */
function parseDsRecord(text: string): {owner: string; keyTag: number; algorithm: number; digestType: number; digest: string; text: string} {
  const m = /^\s*(\S+)\s+(?:\d+\s+)?(?:IN\s+)?DS\s+(\d{1,5})\s+(\d{1,3})\s+(\d{1,3})\s+([0-9A-Fa-f]+)\s*$/.exec(text)
  if (!m) throw new Error(`trustAnchor "${text}" is not a DS record (NAME IN DS TAG ALG TYPE HEX)`)
  return {owner: m[1]!, keyTag: Number(m[2]), algorithm: Number(m[3]), digestType: Number(m[4]), digest: m[5]!.toUpperCase(), text: `${m[1]} IN DS ${m[2]} ${m[3]} ${m[4]} ${m[5]!.toUpperCase()}`}
}

function parseServer(s: string): {addr: string; port: number} {
  const at = s.indexOf('@')
  if (at < 0) return {addr: s, port: 53}
  const port = Number(s.slice(at + 1))
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`auth ${s}: port is not 1-65535`)
  return {addr: s.slice(0, at), port}
}

function findBinary(kind: RealResolverKind): string {
  const {bin, pkg} = binaries[kind]
  // sbin is searched too: both daemons live in /usr/sbin, which is not on every user's PATH.
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin']
  for (const d of dirs) {
    if (!d) continue
    try {
      accessSync(join(d, bin), constants.X_OK)
      return join(d, bin)
    } catch {
      // not here; keep looking
    }
  }
  throw new Error(`${bin} is not installed: apt-get install ${pkg}`)
}

/** True when something at addr:port answers a CH TXT version.bind query (answered locally, no upstream). */
function answersAt(addr: string, port: number, waitMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const id = Math.floor(Math.random() * 65536)
    const query = buildQuery('version.bind', RRType.TXT, {id, klass: RRClass.CH, edns: false})
    const sock = createSocket('udp4')
    let done = false
    const finish = (ok: boolean) => {
      if (done) return
      done = true
      clearTimeout(timer)
      sock.close()
      resolve(ok)
    }
    const timer = setTimeout(() => finish(false), waitMs)
    // Only the header is read: ID matches and QR is set. Nothing else of the reply is trusted or decoded.
    sock.on('message', (msg) => {
      if (msg.length >= 12 && msg.readUInt16BE(0) === id && (msg[2]! & 0x80) !== 0) finish(true)
    })
    sock.on('error', () => finish(false))
    sock.send(query, port, addr, (err) => {
      if (err) finish(false)
    })
  })
}

async function terminate(c: ChildProcess, exited: Promise<void>): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return exited
  c.kill('SIGTERM')
  if (await Promise.race([exited.then(() => true), sleep(STOP_GRACE_MS).then(() => false)])) return
  c.kill('SIGKILL')
  await Promise.race([exited, sleep(2000)])
}

// Loopback addresses this process added, with how many resolvers use each; removed when the count is 0.
const addedAddresses = new Map<string, number>()
// Children still running: killed synchronously if the test process exits without stopping them.
const live = new Set<ChildProcess>()
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL')
  for (const a of addedAddresses.keys()) {
    try {
      execFileSync('ip', ['addr', 'del', `${a}/32`, 'dev', 'lo'], {stdio: 'ignore'})
    } catch {
      // best effort at exit
    }
  }
})

/** Makes sure `addr` is on an interface; returns true when this call counts as one of ours to remove later. */
function holdLoopbackAddress(addr: string): boolean {
  const held = addedAddresses.get(addr)
  if (held !== undefined) {
    addedAddresses.set(addr, held + 1)
    return true
  }
  const present = execFileSync('ip', ['-4', '-o', 'addr', 'show'], {encoding: 'utf8'})
    .split('\n').some((line) => line.includes(` inet ${addr}/`))
  if (present) return false
  try {
    execFileSync('ip', ['addr', 'add', `${addr}/32`, 'dev', 'lo'], {stdio: ['ignore', 'ignore', 'pipe']})
  } catch (err) {
    const msg = String((err as {stderr?: Buffer}).stderr ?? err).trim()
    throw new Error(`bind: named listens only on addresses on an interface and ${addr} is not; ` +
      `run as root or \`ip addr add ${addr}/32 dev lo\` first (${msg})`)
  }
  addedAddresses.set(addr, 1)
  return true
}

function releaseLoopbackAddress(addr: string): void {
  const held = addedAddresses.get(addr)
  if (held === undefined) return
  if (held > 1) {
    addedAddresses.set(addr, held - 1)
    return
  }
  addedAddresses.delete(addr)
  try {
    execFileSync('ip', ['addr', 'del', `${addr}/32`, 'dev', 'lo'], {stdio: 'ignore'})
  } catch {
    // already gone: nothing to undo
  }
}

function tail(log: string): string {
  const lines = log.trim().split('\n').filter(Boolean).slice(-6)
  return lines.length ? lines.join(' | ') : '(no output)'
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}
