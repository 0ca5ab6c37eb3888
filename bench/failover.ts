// How fast a DNS-LB stops answering with a server that stopped answering: probes every 1 s, down after 3
// failures (target: within interval x down-threshold + 0.5 s = 3.5 s). The server goes silent (no accept, no
// reply: every probe waits for its timeout) at a random moment; the DNS-LB is asked every 10 ms meanwhile.
import {startContentServers} from '../src/lab/content-server.js'
import {CONTENT, HTTP_PORT, lbState} from './compare-lb.js'
import {ancount, ask, startGlb, waitAnswering, type Peer} from './peers.js'
import {fmt, median} from './report.js'
import type {BenchSettings} from './settings.js'

const ADDR = '127.0.65.1'
const PORT = 28353
const POLL_MS = 10

/**
 * The first A address of an answer to www.glb.example.test. A, as text (null when there is none). The question
 * is 26 octets from offset 12; the first answer record follows: a 2-octet name pointer, type, class, TTL,
 * RDLENGTH, then the 4 address octets.
 */
function firstA(answer: Buffer | null): string | null {
  if (!answer || ancount(answer) === 0 || answer.length < 12 + 26 + 16) return null
  const at = 12 + 26 + 12
  return `${answer[at]}.${answer[at + 1]}.${answer[at + 2]}.${answer[at + 3]}`
}

/** Asks every POLL_MS until `want(address)` holds; returns the seconds that took (or NaN past `limitS`). */
async function until(want: (a: string | null) => boolean, limitS: number): Promise<number> {
  const t0 = performance.now()
  while (performance.now() - t0 < limitS * 1000) {
    if (want(firstA(await ask(ADDR, PORT, undefined, 200)))) return (performance.now() - t0) / 1000
    await new Promise((r) => setTimeout(r, POLL_MS))
  }
  return NaN
}

export async function failover(s: BenchSettings, trials = 6): Promise<void> {
  const [near, far] = CONTENT as [string, string]
  // near answers in 1 ms, far in 20 ms: the DNS-LB answers near while near is up.
  const matrix = (nearDown: boolean) => ({defaultMs: 1, servers: {[near]: {default: 1, down: nearDown}, [far]: {default: 20}}})
  const cs = await startContentServers({matrix: matrix(false), addresses: CONTENT, ports: {http: HTTP_PORT, udp: null, dns: null}})
  const interval = 1
  const down = 3
  const timeout = 0.5
  let lb: Peer | null = null
  try {
    lb = startGlb('glb serve lb', 'lb', lbState(s.dir, ADDR, PORT, {interval: `${interval}s`, timeout: `${timeout * 1000}ms`, down}), ADDR, PORT, s.pinServer)
    await waitAnswering(lb, (a) => firstA(a) === near, 30_000)
    const failS: number[] = []
    const backS: number[] = []
    for (let t = 0; t < trials; t++) {
      // A random phase against the probe rhythm, so the trials sample every point of an interval.
      await new Promise((r) => setTimeout(r, 1000 + Math.random() * interval * 1000))
      await cs.setMatrix(matrix(true))
      failS.push(await until((a) => a !== near, 15))
      await cs.setMatrix(matrix(false))
      backS.push(await until((a) => a === near, 30))
      console.log(`  trial ${t + 1}: answers left the silent server after ${fmt.ms(failS.at(-1)!, 2)} s, came back ${fmt.ms(backS.at(-1)!, 2)} s after it answered again`)
    }
    const target = interval * down + 0.5
    s.report.table(
      `Failover: a server goes silent; probes every ${interval} s (timeout ${timeout} s), down after ${down} failures, ${trials} trials`,
      ['measure', 'min s', 'median s', 'max s', 'target s'],
      [
        ['silent -> answers without it', fmt.ms(Math.min(...failS), 2), fmt.ms(median(failS), 2), fmt.ms(Math.max(...failS), 2), `<= ${target}`],
        ['answering again -> back in answers (up after 2)', fmt.ms(Math.min(...backS), 2), fmt.ms(median(backS), 2), fmt.ms(Math.max(...backS), 2), '-'],
      ],
      [`Measured from the moment the fixture stopped answering to the first DNS-LB answer without it (asked every ${POLL_MS} ms). `
        + `The third failed probe is recorded one timeout after it starts, and the first failing probe starts up to one interval (+10 % jitter) after the server stops.`],
    )
  } finally {
    await lb?.stop()
    await cs.close()
  }
}
