// "What to try next" for a running lab: commands that work as printed in this run (its addresses, port and key).
import {LatencyMatrix} from './latency-matrix.js'
import type {LabReport} from './lab.js'

/** One command to try: what it shows, the argument vector, and the same as one shell line. */
export interface NextStep {
  what: string
  argv: string[]
  command: string
}

/** How to run glb in the printed commands, e.g. ['glb'] or ['node', 'bin/run.js']. */
export type GlbInvocation = string[]

/**
 * The commands for `report`'s lab: dig at each ISP resolver, a trace as ISP 2 (or 1) sees it, the DNS-B's
 * mapping table with the run's key, then the first POP's server made slow, restored, made down and brought up
 * (each with the dig that shows the answer moving). Delays are restored to what the matrix said at this call.
 */
export function labNextSteps(report: LabReport, glb: GlbInvocation): NextStep[] {
  const dns = report.ports.dns
  const digPort = dns === 53 ? [] : ['-p', String(dns)]
  const glbPort = dns === 53 ? [] : ['--port', String(dns)]
  const at = (address: string) => (dns === 53 ? address : `${address}:${dns}`)
  const name = report.name.replace(/\.$/, '')
  const steps: NextStep[] = []
  const add = (what: string, argv: string[]) => steps.push({what, argv, command: argv.map(shellWord).join(' ')})
  const dig = (isp: string) => ['dig', `@${isp}`, ...digPort, name, '+short']

  const rows = report.roles.lbs.map((lb, i) => ({lb, isp: report.roles.isps[i]!.address, answer: report.rows[i]?.answer ?? []}))
  for (const r of rows) add(`ISP resolver of ${r.lb.label}: its clients get ${r.answer.join(', ') || 'its DNS-LB\'s choice'}`, dig(r.isp))
  const traced = rows[1] ?? rows[0]!
  add(`the chain as ${traced.lb.label}'s ISP resolver sees it, hop by hop`,
    [...glb, 'trace', name, '--from', traced.isp, '--server', report.roles.root, ...glbPort])
  add('the mappings the DNS-LBs registered (TSIG-signed zone transfer with this run\'s key)',
    [...glb, 'map', 'list', '--b', at(report.roles.bs[0]!), '--key', `${report.key.algorithm}:${report.key.name}:${report.key.secret}`])

  // Move the first POP's clients: slow their server down for that POP only, then restore; then take it down.
  const first = rows[0]!
  const server = first.answer[0] ?? report.roles.servers[0]!
  const was = LatencyMatrix.load(report.matrixFile).delayMs(server, first.lb.address)
  const matrix = [...glb, 'lab', 'matrix', report.runDir, '--server', server]
  add(`${server} 400 ms slower for ${first.lb.label}'s probes: within a few seconds ${first.lb.label}'s clients get another server`,
    [...matrix, '--from', first.lb.address, '--ms', String(was + 400)])
  add(`${first.lb.label}'s clients again: the answer has moved (ask again if not yet)`, dig(first.isp))
  add(`${server} back to ${was} ms for ${first.lb.label}`, [...matrix, '--from', first.lb.address, '--ms', String(was)])
  add(`${server} down for everyone: every POP that chose it moves`, [...matrix, '--down'])
  add(`${server} up again`, [...matrix, '--up'])
  return steps
}

/** The block `glb lab up` prints: a heading with the port and key file, then each command under a comment line. */
export function renderNextSteps(steps: NextStep[], o: {port: number; keyFile: string}): string {
  const lines = steps.flatMap((s) => [`  # ${s.what}`, `  ${s.command}`])
  return [`Try next (port ${o.port}; the TSIG key is also in ${o.keyFile}):`, ...lines].join('\n')
}

// POSIX sh quoting, only where needed, so the printed line pastes into a shell as is.
function shellWord(w: string): string {
  return /^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`
}
