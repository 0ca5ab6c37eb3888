// Starts the servers bench/run.ts compares: gdnsd, PowerDNS, the naive Node server and glb's roles, each in
// the foreground from a config in bench/configs/ copied to its own directory, pinned to the server core.
import {spawn, spawnSync, type ChildProcess} from 'node:child_process'
import dgram from 'node:dgram'
import {mkdirSync, readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

const root = new URL('..', import.meta.url).pathname
export const CONFIGS = join(root, 'bench', 'configs')

/** A server under test. */
export interface Peer {
  name: string
  address: string
  port: number
  pid: number
  /** stdout and stderr so far (for error lines). */
  output(): string
  /** SIGTERM, then SIGKILL after 5 s; resolves once the process has exited. */
  stop(): Promise<void>
}

/** True when `tool` is on PATH (also /usr/sbin, where Debian puts gdnsd and pdns_server). */
export function has(tool: string): boolean {
  return spawnSync('sh', ['-c', `PATH="$PATH:/usr/sbin:/sbin" command -v ${tool}`], {stdio: 'ignore'}).status === 0
}

/** Copies bench/configs/<name> (a file or a folder) to `dest`, filling @KEY@ placeholders. */
export function fillConfig(name: string, dest: string, vars: Record<string, string | number>): void {
  const from = join(CONFIGS, name)
  const copy = (src: string, dst: string) => {
    if (statSync(src).isDirectory()) {
      mkdirSync(dst, {recursive: true})
      for (const f of readdirSync(src)) copy(join(src, f), join(dst, f))
      return
    }
    let text = readFileSync(src, 'utf8')
    for (const [k, v] of Object.entries(vars)) text = text.replaceAll(`@${k}@`, String(v))
    writeFileSync(dst, text)
  }
  copy(from, dest)
}

/** Spawns a server process (through `pin`, e.g. taskset, which execs it so the pid is the server's). */
export function spawnPeer(name: string, address: string, port: number, argv: string[], pin: string[], env?: NodeJS.ProcessEnv): Peer {
  const [cmd, ...args] = [...pin, ...argv]
  const child: ChildProcess = spawn(cmd!, args, {stdio: ['ignore', 'pipe', 'pipe'], cwd: root, env: {...process.env, ...env}})
  let out = ''
  const keep = (d: Buffer) => { out = (out + d).slice(-20_000) }
  child.stdout!.on('data', keep)
  child.stderr!.on('data', keep)
  const exited = new Promise<void>((r) => child.once('exit', () => r()))
  return {
    name, address, port, pid: child.pid!,
    output: () => out,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(timer)
    },
  }
}

/** The query every peer is asked: www.glb.example.test. A, as wire bytes (RD clear, no EDNS). */
export function wireQuery(name = 'www.glb.example.test.', qtype = 1, id = 0x4242): Buffer {
  const labels = name.split('.').filter(Boolean)
  const parts = [Buffer.from([id >> 8, id & 0xff, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0])]
  for (const l of labels) parts.push(Buffer.from([l.length]), Buffer.from(l, 'latin1'))
  parts.push(Buffer.from([0, qtype >> 8, qtype & 0xff, 0, 1]))
  return Buffer.concat(parts)
}

/** Sends one query and resolves with the answer, or null after `timeoutMs`. */
export function ask(address: string, port: number, query = wireQuery(), timeoutMs = 300): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4')
    const done = (v: Buffer | null) => { clearTimeout(timer); s.close(); resolve(v) }
    const timer = setTimeout(() => done(null), timeoutMs)
    s.on('message', (m) => done(m))
    s.on('error', () => done(null))
    s.send(query, port, address)
  })
}

/** Waits until `ready(answer)` holds for an answer from the peer (the process must stay alive meanwhile). */
export async function waitAnswering(p: Peer, ready: (answer: Buffer) => boolean, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs
  while (Date.now() < until) {
    if (!existsPid(p.pid)) throw new Error(`${p.name} exited while starting: ${p.output().trim().split('\n').slice(-3).join(' | ')}`)
    const a = await ask(p.address, p.port)
    if (a && ready(a)) return
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`${p.name} did not answer at ${p.address}:${p.port} within ${timeoutMs / 1000} s: ${p.output().trim().split('\n').slice(-3).join(' | ')}`)
}

function existsPid(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** Answer count of a response (0 for anything unreadable). */
export function ancount(answer: Buffer): number {
  return answer.length >= 12 ? answer.readUInt16BE(6) : 0
}

/** gdnsd 3 with the weighted plugin (bench/configs/gdnsd). */
export function startGdnsd(dir: string, address: string, port: number, pin: string[]): Peer {
  fillConfig('gdnsd', dir, {DIR: dir, ADDR: address, PORT: port})
  return spawnPeer('gdnsd', address, port, ['gdnsd', '-c', dir, 'start'], pin, {PATH: `${process.env.PATH}:/usr/sbin`})
}

/** PowerDNS Authoritative, bind backend, a LUA record (bench/configs/pdns). */
export function startPdns(dir: string, address: string, port: number, pin: string[]): Peer {
  fillConfig('pdns', dir, {DIR: dir, ADDR: address, PORT: port})
  return spawnPeer('PowerDNS', address, port, ['pdns_server', `--config-dir=${dir}`], pin, {PATH: `${process.env.PATH}:/usr/sbin`})
}

/** The naive dns-packet server (bench/naive-server.ts). */
export function startNaive(address: string, port: number, pin: string[]): Peer {
  return spawnPeer('node+dns-packet', address, port, [process.execPath, '--import', 'tsx', join(root, 'bench', 'naive-server.ts'), address, String(port)], pin)
}

/** A glb role from dist/ (`node bin/run.js serve ROLE --state FILE`), no tsx. */
export function startGlb(name: string, role: 'lb' | 'b', stateFile: string, address: string, port: number, pin: string[], extraArgs: string[] = [], nodeArgs: string[] = []): Peer {
  return spawnPeer(name, address, port, [process.execPath, ...nodeArgs, join(root, 'bin', 'run.js'), 'serve', role, '--state', stateFile, '--json', ...extraArgs], pin)
}
