// Every `--help` example of every command runs as printed against the default lab (issue 21): read from the
// manifests oclif prints `--help` from, run with `sh -c` from the repo root, each under a deadline.
// glb-test-timeout: 540
//
// How each example is run is declared in PLANS below, one entry per example, and the entries must be exactly the
// examples (a new example must be run or listed as not run, with the reason). Examples that serve the lab's own
// addresses on port 53 (`lab up` as root, `serve ... --log-queries`) are the lab's pieces, not things beside it:
// they run as printed before the lab starts, with those addresses free. `/tmp/glb-lab-XXXX` (the run folder
// `glb lab up` prints) is the one placeholder, replaced by the lab's run folder. The children get TMPDIR and
// GLB_CACHE_DIR in a scratch folder (run folders of `lab up` examples, completion caches) that is removed after.
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {spawn, type ChildProcess} from 'node:child_process'
import {existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {Lab} from '../../src/lab/lab.js'
import {loadTopology, DEFAULT_TOPOLOGY} from '../../src/lab/topology.js'
import {buildQuery, exchange} from '../../src/dns/client.js'
import {RRType, Rcode} from '../../src/dns/wire/constants.js'
import {distIsFresh, glbLauncher} from '../helpers/cli.js'
import {runTool} from '../helpers/run-tool.js'
import {inCI, requires} from '../helpers/env.js'

const root = new URL('../..', import.meta.url).pathname

/** What an example's output must show, where that is cheap to say. */
type Expect = RegExp | ((stdout: string) => void)

type Plan =
  /** Runs to completion beside the running lab: exit 0, and `expect` holds of its stdout. */
  | {run: 'once'; expect?: Expect}
  /** A server: it must print `ready` (or answer DNS on `dns`) within the bound, then gets SIGTERM. `alone`: it
   * serves the lab's own addresses on port 53, so it runs before the lab starts. */
  | {run: 'serve'; ready: RegExp | {dns: string; port: number}; alone?: true}
  | {run: 'no'; why: string}

const INTERNET = 'needs the Internet: starts at the real root servers (no traffic leaves this machine in tests)'
const json = (check: (doc: any) => void) => (out: string) => check(JSON.parse(out))
const listening = /listening on/

/** Every example, keyed exactly as the manifest has it. */
const PLANS: Record<string, Plan> = {
  // glb probe: the lab's content servers (HTTP 80, DNS 53), and a name the lab serves.
  '<%= config.bin %> probe 127.0.10.1 127.0.10.2 --method http --port 80': {run: 'once', expect: /127\.0\.10\.1[\s\S]*127\.0\.10\.2/},
  '<%= config.bin %> probe 127.0.10.1 --method dns --port 53 --count 10 --interval 200 --source 127.0.1.1': {run: 'once', expect: /127\.0\.10\.1/},
  '<%= config.bin %> probe http://127.0.10.1/health --json': {run: 'once', expect: json((d) => assert.ok(JSON.stringify(d).includes('127.0.10.1')))},
  '<%= config.bin %> probe http://www.example.test/ --resolver 127.0.1.53': {run: 'once', expect: /127\.0\.10\.1/},
  // glb key: written into the folder it runs in (the repo root here; the test removes them after)
  '<%= config.bin %> key create --zone example.test --out example.test.key': {run: 'once', expect: /^example\.test\. IN DS \d+ 13 2 [0-9A-F]{64}$/m},
  '<%= config.bin %> key create --zone . --algorithm 15 --out root.key --json': {run: 'once', expect: json((d) => assert.equal([d.zone, d.algorithm], ['.', 15]))},
  '<%= config.bin %> key ds --key example.test.key': {run: 'once', expect: /^example\.test\. IN DNSKEY 257 3 13 /m},
  // glb resolve
  '<%= config.bin %> resolve example.com': {run: 'no', why: INTERNET},
  '<%= config.bin %> resolve www.example.test --lab --from 127.0.1.53': {run: 'once', expect: /127\.0\.10\.1/},
  '<%= config.bin %> resolve www.example.test --type CNAME --server 127.0.0.10 --port 53 --json': {run: 'once', expect: json((d) => assert.ok(JSON.stringify(d.answer).includes('www.glb.example.test'), JSON.stringify(d)))},
  // glb status: shipped state files, and a lab role's live metrics
  '<%= config.bin %> status --state /tmp/glb-lab-XXXX/lb1.json': {run: 'once', expect: /127\.0\.10\.1 .*\*/},
  '<%= config.bin %> status --state /tmp/glb-lab-XXXX/b1.json --json | jq \'.mappings[] | select(.lb == "lb2")\'': {run: 'once', expect: /127\.0\.2\.53\/32/},
  '<%= config.bin %> status --metrics 127.0.1.1:9153': {run: 'once', expect: /lb1/},
  // glb trace
  '<%= config.bin %> trace example.com': {run: 'no', why: INTERNET},
  '<%= config.bin %> trace www.example.test --lab --from 127.0.1.53': {run: 'once', expect: /127\.0\.10\.1/},
  '<%= config.bin %> trace www.glb.example.test --lab --from 127.0.2.53 --json': {run: 'once', expect: json((d) => assert.ok(JSON.stringify(d).includes('127.0.10.2')))},
  '<%= config.bin %> trace www.example.test --root-hints fixtures/lab.named.root': {run: 'once', expect: /127\.0\.0\.9[\s\S]*127\.0\.10\.\d/},
  '<%= config.bin %> trace www.example.test --lab --from lab': {run: 'once', expect: /127\.0\.10\.1[\s\S]*127\.0\.10\.2[\s\S]*127\.0\.10\.3/},
  '<%= config.bin %> trace www.example.test --lab --from 127.0.1.53 --from 127.0.2.53 --json': {run: 'once', expect: (out) => assert.match(out, /127\.0\.10\.1[\s\S]*127\.0\.10\.2/)},
  '<%= config.bin %> trace www.example.com --subnet 192.0.2.0/24': {run: 'no', why: INTERNET},
  // The default lab is unsigned: the DNSSEC columns say so (no DNSKEY, no RRSIG) and the answer is still server 1's.
  '<%= config.bin %> trace www.example.test --lab --dnssec': {run: 'once', expect: /RRSIG: none[\s\S]*127\.0\.10\.\d/},
  // glb lab content: the default one is the lab's own content servers (127.0.10.x on 80, 7, 53)
  '<%= config.bin %> lab content --matrix fixtures/latency-matrix.json': {run: 'serve', ready: /127\.0\.10\.3 http 80/, alone: true},
  '<%= config.bin %> lab content --matrix fixtures/latency-matrix.json --address 127.0.10.1 --http-port 8080 --udp-port 7007 --dns-port 5353': {run: 'serve', ready: /127\.0\.10\.1 http 8080/},
  // glb lab matrix: on the lab's run folder (the file is restored after each)
  '<%= config.bin %> lab matrix /tmp/glb-lab-XXXX --server 127.0.10.1 --down': {run: 'once'},
  '<%= config.bin %> lab matrix /tmp/glb-lab-XXXX/latency-matrix.json --server 127.0.10.1 --up': {run: 'once'},
  '<%= config.bin %> lab matrix /tmp/glb-lab-XXXX --server 127.0.10.2 --from 127.0.1.0/24 --ms 1': {run: 'once'},
  // glb lab up: as root on 53 it is the default lab itself; on 5300 it fits beside it
  'sudo <%= config.bin %> lab up': {run: 'serve', ready: /waiting until every ISP/, alone: true},
  '<%= config.bin %> lab up --port 5300': {run: 'serve', ready: /waiting until every ISP/},
  'sudo <%= config.bin %> lab up --isp unbound': {run: 'serve', ready: /waiting until every ISP/, alone: true},
  '<%= config.bin %> lab up --port 5300 --json': {run: 'serve', ready: {dns: '127.0.0.9', port: 5300}},
  // glb map: with the lab's key (its run folder's tsig.key)
  '<%= config.bin %> map list --b 127.0.0.20 --key "$(cat /tmp/glb-lab-XXXX/tsig.key)"': {run: 'once', expect: /127\.0\.1\.53\/32[\s\S]*lb1/},
  '<%= config.bin %> map list --b 127.0.0.21:53 --key "$(cat /tmp/glb-lab-XXXX/tsig.key)" --json': {run: 'once', expect: json((d) => assert.ok(JSON.stringify(d).includes('127.0.2.53/32')))},
  '<%= config.bin %> map register --b 127.0.0.20 --b 127.0.0.21 --lb lb1=127.0.1.1 --isp 127.0.1.53 --key "$(cat /tmp/glb-lab-XXXX/tsig.key)"': {run: 'once'},
  '<%= config.bin %> map register --b 127.0.0.20 --lb lb2=127.0.2.1 --isp 10.2.0.0/16 --ttl 600 --key "$(cat /tmp/glb-lab-XXXX/tsig.key)"': {run: 'once'},
  // ISP 1 is a resolver farm sending from 127.0.1.53, .54 and .55 in turn: whoami sees whichever sent this time.
  '<%= config.bin %> map register --b 127.0.0.20 --lb lb1=127.0.1.1 --isp auto --resolver 127.0.1.53 --key "$(cat /tmp/glb-lab-XXXX/tsig.key)"': {run: 'once', expect: /^127\.0\.1\.5[345] -> lb1 /m},
  '<%= config.bin %> map remove --b 127.0.0.20 --b 127.0.0.21 --isp 127.0.1.53 --lb lb1 --key "$(cat /tmp/glb-lab-XXXX/tsig.key)"': {run: 'once', expect: /removed/},
  '<%= config.bin %> map remove --b 127.0.0.20 --isp 10.2.0.0/16 --key "$(cat /tmp/glb-lab-XXXX/tsig.key)"': {run: 'once', expect: /removed/},
  // glb serve: on 5300 beside the lab; the root ones on 53 are the lab's own roles, so before it
  '<%= config.bin %> serve a --state fixtures/a.json --listen 127.0.0.10:5300': {run: 'serve', ready: listening},
  'sudo <%= config.bin %> serve a --state fixtures/a.json --listen 127.0.0.10 --log-queries': {run: 'serve', ready: listening, alone: true},
  '<%= config.bin %> serve b --state fixtures/b.json --listen 127.0.0.20:5300': {run: 'serve', ready: listening},
  'sudo <%= config.bin %> serve b --state fixtures/b.json --log-queries': {run: 'serve', ready: listening, alone: true},
  '<%= config.bin %> serve b --state fixtures/b.json --listen 127.0.0.20:5300 --metrics 127.0.0.20:9154': {run: 'serve', ready: listening},
  '<%= config.bin %> serve isp --state fixtures/isp1.json': {run: 'serve', ready: listening, alone: true},
  '<%= config.bin %> serve isp --state fixtures/isp1.json --listen 127.0.1.53:5300 --upstream-port 5300': {run: 'serve', ready: listening},
  'dig @127.0.1.53 www.example.test': {run: 'once', expect: /ANSWER SECTION[\s\S]*127\.0\.10\.\d/},
  '<%= config.bin %> serve lb --state fixtures/lb1.json --listen 127.0.1.1:5300': {run: 'serve', ready: listening},
  '<%= config.bin %> serve lb --state fixtures/lb1.json --listen 127.0.1.1:5300 --workers 2': {run: 'serve', ready: listening},
  'sudo <%= config.bin %> serve lb --state fixtures/lb1.json --log-queries': {run: 'serve', ready: listening, alone: true},
  'dig @127.0.1.1 _explain.www.glb.example.test. TXT +short': {run: 'once', expect: /chosen/},
  // glb autocomplete (@oclif/plugin-autocomplete's examples, printed by `glb autocomplete --help`)
  '$ <%= config.bin %> autocomplete': {run: 'once', expect: /bash/},
  '$ <%= config.bin %> autocomplete bash': {run: 'once', expect: /bashrc/},
  '$ <%= config.bin %> autocomplete zsh': {run: 'once', expect: /zshrc/},
  '$ <%= config.bin %> autocomplete powershell': {run: 'once', expect: /profile/i},
  '$ <%= config.bin %> autocomplete --refresh-cache': {run: 'once'},
}

/** Every example `glb COMMAND --help` prints: glb's own manifest and each plugin's, in manifest order. */
function manifestExamples(): string[] {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
  const manifests = [join(root, 'oclif.manifest.json'), ...(pkg.oclif.plugins as string[]).map((p) => join(root, 'node_modules', p, 'oclif.manifest.json')).filter(existsSync)]
  const out: string[] = []
  for (const file of manifests) {
    for (const c of Object.values(JSON.parse(readFileSync(file, 'utf8')).commands) as {examples?: (string | {command: string})[]}[]) {
      for (const e of c.examples ?? []) out.push(typeof e === 'string' ? e : e.command)
    }
  }
  return out
}

/** The shell line to run: glb as `node bin/run.js`, no sudo (the test is root), the run folder filled in. */
function shellLine(example: string, runDir: string): string {
  return example.replace(/^\$ /, '').replace(/^sudo /, '')
    .replaceAll('<%= config.bin %>', `${process.execPath} bin/run.js`)
    .replaceAll('/tmp/glb-lab-XXXX', runDir)
}

test('every --help example is either run by this file or listed as not run, with the reason', () => {
  assert.ok(existsSync(join(root, 'oclif.manifest.json')), 'oclif.manifest.json is built (npm run build)')
  const examples = manifestExamples()
  const unplanned = examples.filter((e) => !(e in PLANS))
  const gone = Object.keys(PLANS).filter((e) => !examples.includes(e))
  assert.equal(unplanned, [], `examples with no plan here (run them, or list them as not run with the reason): ${unplanned.join(' | ')}`)
  assert.equal(gone, [], `plans for examples no command has any more: ${gone.join(' | ')}`)
  assert.is(new Set(examples).size, examples.length, 'no example is printed twice')
})

/** A child in its own process group, so SIGTERM reaches whatever it started. */
interface Running {
  child: ChildProcess
  output(): string
  exited: Promise<number | null>
}

let scratch = ''
const childEnv = () => {
  const env: NodeJS.ProcessEnv = {...process.env, NO_COLOR: '1', TMPDIR: scratch, GLB_CACHE_DIR: join(scratch, 'cache')}
  // As printed: nothing from the caller's shell decides where a command starts or which key it uses.
  for (const k of ['GLB_LAB', 'GLB_TSIG_KEY', 'GLB_RESOLVER']) delete env[k]
  return env
}

function start(line: string): Running {
  const child = spawn('sh', ['-c', line], {cwd: root, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: childEnv()})
  let out = ''
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d))
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d))
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)))
  return {child, output: () => out, exited}
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** SIGTERM to the group, SIGKILL after 15 s; resolves when the shell has gone. */
async function stopGroup(r: Running): Promise<void> {
  const kill = (sig: NodeJS.Signals) => { try { process.kill(-r.child.pid!, sig) } catch {} }
  kill('SIGTERM')
  const killer = setTimeout(() => kill('SIGKILL'), 15_000)
  await r.exited
  clearTimeout(killer)
  await sleep(300) // the group's last members (a lab's children) leave their sockets
}

async function answers(server: string, port: number): Promise<boolean> {
  try {
    return (await exchange(server, buildQuery('.', RRType.SOA), {port, timeoutMs: 500, tcpFallback: false})).message.rcode === Rcode.NOERROR
  } catch {
    return false
  }
}

/** Runs one example as its plan says; throws with the example and its output when it does not do what it says. */
async function runExample(example: string, plan: Plan, runDir: string): Promise<void> {
  const line = shellLine(example, runDir)
  if (plan.run === 'once') {
    const r = await runTool('sh', ['-c', `cd '${root}' && ${line}`], {timeoutMs: 60_000})
    assert.is(r.code, 0, `${example}\n  exit ${r.code}${r.timedOut ? ' (timed out after 60 s)' : ''}\n${r.stdout}${r.stderr}`)
    const expect = plan.expect
    if (expect instanceof RegExp) assert.match(r.stdout, expect, `${example}\n  output does not match ${expect}:\n${r.stdout}`)
    else if (expect) {
      try {
        expect(r.stdout)
      } catch (err) {
        throw new Error(`${example}\n  ${(err as Error).message}\n${r.stdout}`)
      }
    }
    return
  }
  if (plan.run !== 'serve') return
  const r = start(line)
  try {
    const deadline = Date.now() + 45_000
    let gone = false
    void r.exited.then(() => { gone = true })
    for (;;) {
      const ready = plan.ready instanceof RegExp ? plan.ready.test(r.output()) : await answers(plan.ready.dns, plan.ready.port)
      if (ready) break
      assert.ok(!gone, `${example}\n  exited before it was ready:\n${r.output().slice(-1500)}`)
      assert.ok(Date.now() < deadline, `${example}\n  not ready (${plan.ready instanceof RegExp ? plan.ready : `DNS at ${plan.ready.dns}:${plan.ready.port}`}) within 45 s:\n${r.output().slice(-1500)}`)
      await sleep(200)
    }
  } finally {
    await stopGroup(r)
  }
}

const req = requires(['root', 'dig', 'jq', 'unbound'], test)
/** dist/ runs the code under test (the examples run bin/run.js): a stale or missing build skips, and fails under CI. */
const distReason = distIsFresh() ? null : 'needs a fresh `npm run build` (dist/ older than src/ or missing)'
const labTest = (name: string, fn: () => Promise<void>) => {
  if (distReason === null) req.test(name, fn)
  else if (inCI) test(name, () => { throw new Error(`CI must run this test but it ${distReason}`) })
  else { console.log(`SKIP: ${name}: ${distReason}`); test.skip(name) }
}

labTest('every --help example runs as printed: the lab\'s own pieces alone, the rest against the default lab on port 53', async () => {
  const examples = manifestExamples()
  // Servers run on the shipped fixtures write their measurements and mappings beside them (git ignores those);
  // whatever this run adds to fixtures/ goes again.
  const fixtures = join(root, 'fixtures')
  const shipped = new Set(readdirSync(fixtures))
  // Examples that write a file where they run (glb key create) write it in the repo root: those go again too.
  const before = new Set(readdirSync(root))
  scratch = mkdtempSync(join(tmpdir(), 'glb-examples-'))
  const failed: string[] = []
  const ran: string[] = []
  const attempt = async (example: string, runDir: string) => {
    try {
      await runExample(example, PLANS[example]!, runDir)
      ran.push(example)
    } catch (err) {
      failed.push((err as Error).message)
    }
  }
  let lab: Lab | null = null
  try {
    // 1. The examples that are the lab's own pieces on port 53, with those addresses free.
    for (const e of examples) {
      const p = PLANS[e]!
      if (p.run === 'serve' && p.alone) await attempt(e, '/nonexistent')
    }
    // 2. The default lab, as `glb lab up` starts it, converged; then every other example beside it.
    const topology = loadTopology(DEFAULT_TOPOLOGY)
    lab = new Lab({topology, topologyFile: DEFAULT_TOPOLOGY, glb: [process.execPath, glbLauncher()]})
    await lab.start()
    const {converged, rows} = await lab.waitConverged(90_000)
    assert.ok(converged, `the lab converges: ${JSON.stringify(rows)} (logs in ${lab.runDir})`)
    const matrix = readFileSync(lab.matrixFile, 'utf8')
    for (const e of examples) {
      const p = PLANS[e]!
      if (p.run === 'no' || (p.run === 'serve' && p.alone)) continue
      await attempt(e, lab.runDir)
      if (e.includes(' lab matrix ')) writeFileSync(lab.matrixFile, matrix)
    }
    const notRun = examples.filter((e) => PLANS[e]!.run === 'no')
    console.log(`help examples: ${ran.length} ran as printed, ${failed.length} failed, ${notRun.length} not run:\n${notRun.map((e) => `  ${e}: ${(PLANS[e] as {why: string}).why}`).join('\n')}`)
    assert.equal(failed, [], `${failed.length} example(s) do not run as printed:\n\n${failed.join('\n\n')}`)
  } finally {
    await lab?.stop()
    if (lab) rmSync(lab.runDir, {recursive: true, force: true})
    rmSync(scratch, {recursive: true, force: true})
    for (const f of readdirSync(fixtures)) if (!shipped.has(f)) rmSync(join(fixtures, f), {force: true})
    for (const f of readdirSync(root)) if (!before.has(f)) rmSync(join(root, f), {recursive: true, force: true})
  }
})

test.run()
