// kill -9 of `glb serve b` at many points of bursts of 1,000 registrations: no acknowledged one is lost, the
// registrations file is always whole (parsable JSON of the right format), and every restart serves them all.
// glb-test-timeout: 300
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {listMappings, register} from '../../src/registration/index.js'
import {RegistrationStore} from '../../src/roles/referral/registration-store.js'
import {spawnGlb, type GlbProcess} from '../helpers/cli.js'
import {freePort} from '../helpers/servers.js'
import {bState, KEY, ZONE} from '../roles/referral/dns-b-lab.js'

const ADDRESS = '127.84.0.20'
/** Acknowledgements after which round i kills the server: early, mid-write and late in the burst. */
const KILL_AFTER = [1, 7, 60, 250, 500, 800, 990]

test('kill -9 at 7 points of 1,000-registration bursts: every NOERROR registration survives, the file is never torn', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'glb-fault-b-'))
  const stateFile = join(dir, 'b.json')
  const dataFile = join(dir, 'b.mappings.json')
  writeFileSync(stateFile, JSON.stringify(bState()))
  const port = await freePort(ADDRESS)
  const target = {address: ADDRESS, port}
  const acked = new Set<string>()
  let proc: GlbProcess | null = null
  const start = async () => {
    proc = spawnGlb(['serve', 'b', '--state', stateFile, '--listen', `${ADDRESS}:${port}`])
    await proc.waitFor(/listening on/, 30_000)
    return proc
  }
  try {
    for (let round = 0; round < KILL_AFTER.length; round++) {
      const p = await start()
      // The previous round's acknowledgements must all be served by the restarted server.
      if (round > 0) {
        const listing = await listMappings({b: target, zone: ZONE, key: KEY})
        const have = new Set(listing.mappings.map((x) => x.prefix))
        const lost = [...acked].filter((x) => !have.has(x))
        assert.is(lost.length, 0, `round ${round}: acknowledged before kill -9 but lost: ${lost.slice(0, 5).join(', ')}`)
      }
      const killAt = KILL_AFTER[round]!
      let ackedThisRound = 0
      let killed = false
      let next = 0
      const isp = (i: number) => `10.${100 + round}.${(i >> 8) & 255}.${i & 255}`
      // 100 in flight, like a fleet of DNS-LBs; the kill lands while group commits are being written.
      await Promise.all(Array.from({length: 100}, async () => {
        while (next < 1000 && !killed) {
          const i = next++
          const [r] = await register({bs: [target], zone: ZONE, key: KEY, lb: {label: `lb${i % 3}`, addrs: [`127.0.${(i % 3) + 1}.1`]}, isp: isp(i), ttl: 3600, tries: 1, timeoutMs: 1500})
          if (r!.ok) {
            acked.add(`${isp(i)}/32`)
            if (++ackedThisRound >= killAt && !killed) { killed = true; p.child.kill('SIGKILL') }
          }
        }
      }))
      await p.exited
      assert.ok(killed, `round ${round}: killed after ${killAt} acknowledgements (got ${ackedThisRound})`)
      // Whatever moment the kill hit, the file on disk is a whole document.
      assert.ok(existsSync(dataFile), 'an acknowledged registration implies the file exists')
      const text = readFileSync(dataFile, 'utf8')
      let parsed: unknown
      try { parsed = JSON.parse(text) } catch (err) { assert.unreachable(`round ${round}: torn registrations file (${text.length} octets): ${(err as Error).message}`) }
      RegistrationStore.parseData(parsed)
      console.log(`    round ${round}: killed after ${ackedThisRound} acks (asked ${killAt}); ${acked.size} acknowledged so far; file ${text.length} octets; dir ${readdirSync(dir).length} files`)
    }
    const p = await start()
    const listing = await listMappings({b: target, zone: ZONE, key: KEY})
    const have = new Set(listing.mappings.map((x) => x.prefix))
    const lost = [...acked].filter((x) => !have.has(x))
    console.log(`    after ${KILL_AFTER.length} kills: ${acked.size} acknowledged, ${have.size} served`)
    assert.is(lost.length, 0, `acknowledged but lost: ${lost.slice(0, 5).join(', ')}`)
    await p.stop()
  } finally {
    await (proc as GlbProcess | null)?.stop()
    rmSync(dir, {recursive: true, force: true})
  }
})

test.run()
