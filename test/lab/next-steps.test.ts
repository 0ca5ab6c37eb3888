// `glb lab up --json` on a high port with glb's own resolvers: every command of its "try next" block runs as
// printed (sh -c, from the repo root) and succeeds, and making the first POP's server slow moves its answer.
// The lab runs on its own addresses (127.0.181-184.x, a topology written here), not the default lab's, so it
// does not collide with the other lab tests.
// glb-test-timeout: 300
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {runTool} from '../helpers/run-tool.js'
import {spawnGlb} from '../helpers/cli.js'
import {freePort} from '../helpers/servers.js'
import {requires} from '../helpers/env.js'
import {renderNextSteps, type NextStep} from '../../src/lab/next-steps.js'

const root = new URL('../../', import.meta.url).pathname
const topology = {
  root: '127.0.181.9', a: '127.0.181.10', bs: ['127.0.181.20', '127.0.181.21'],
  pops: [{label: 'lb1', lb: '127.0.182.1', isp: '127.0.182.53'}, {label: 'lb2', lb: '127.0.183.1', isp: '127.0.183.53'}],
  servers: ['127.0.184.1', '127.0.184.2'],
  matrix: {
    defaultMs: 50,
    servers: {
      '127.0.184.1': {from: {'127.0.182.0/24': 5, '127.0.183.0/24': 60}},
      '127.0.184.2': {from: {'127.0.182.0/24': 60, '127.0.183.0/24': 5}},
    },
  },
}

const sh = (command: string) => runTool('sh', ['-c', `cd '${root}' && ${command}`], {timeoutMs: 30_000})
const dig = requires(['dig'], test)

dig.test('every command of the lab\'s "try next" block works as printed; the slow step moves POP 1\'s answer', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'glb-next-'))
  const topologyFile = join(dir, 'topology.json')
  writeFileSync(topologyFile, JSON.stringify(topology))
  const port = await freePort(topology.root)
  const lab = spawnGlb(['lab', 'up', '--topology', topologyFile, '--port', String(port), '--dir', join(dir, 'run'), '--timeout', '120', '--json'])
  try {
    await lab.waitFor(/^\{.*\}\s*$/m, 150_000)
    const report = JSON.parse(lab.stdout().trim().split('\n').at(-1)!)
    assert.ok(report.converged, JSON.stringify(report.rows))
    const next: NextStep[] = report.next
    // --json says where the key is, and the file holds the key the printed map list uses.
    const key = readFileSync(report.keyFile, 'utf8').trim()
    assert.ok(next.some((s) => s.command.includes(`--key ${key}`)), 'map list uses the run\'s key')
    // The text block is the same commands, each on its own line.
    const block = renderNextSteps(next, {port, keyFile: report.keyFile})
    for (const s of next) assert.ok(block.includes(`  ${s.command}`), s.command)
    assert.ok(next.filter((s) => s.argv[0] === 'dig').length >= 3, 'dig at each ISP, and again after the change')
    for (const s of next) assert.ok(s.command.includes(String(port)) || s.command.includes(report.runDir), `${s.command}: names the run's port or folder`)

    const first = report.rows[0]
    const before: string = first.answer[0]
    for (const [i, s] of next.entries()) {
      const r = await sh(s.command)
      assert.is(r.code, 0, `${s.command}\n${r.stdout}${r.stderr}`)
      if (s.argv[0] === 'dig') assert.match(r.stdout, /^127\.\d+\.\d+\.\d+$/m, `${s.command}: an address`)
      if (s.argv.includes('map')) assert.match(r.stdout, new RegExp(`${first.isp.replace(/\./g, '\\.')}/32\\s.*lb1`), 'POP 1\'s registration is listed')
      if (s.argv.includes('--ms') && i + 1 < next.length && next[i + 1]!.argv[0] === 'dig') {
        // The slow step: POP 1's clients move off `before` (probes every second, answer TTL 5 s).
        const deadline = Date.now() + 30_000
        let now = before
        while (Date.now() < deadline) {
          now = (await sh(next[i + 1]!.command)).stdout.trim().split('\n')[0] ?? ''
          if (now && now !== before) break
          await new Promise((r) => setTimeout(r, 1000))
        }
        assert.is.not(now, before, `POP 1 still gets ${before} 30 s after it was made slow`)
      }
    }
  } finally {
    lab.child.kill('SIGTERM')
    const killer = setTimeout(() => lab.child.kill('SIGKILL'), 20_000)
    await lab.exited
    clearTimeout(killer)
    rmSync(dir, {recursive: true, force: true})
  }
})

test.run()
