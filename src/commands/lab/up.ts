// `glb lab up`: run a whole GSLB lab on loopback in the foreground, and show what each ISP's clients get.
import {Flags} from '@oclif/core'
import {basename, isAbsolute, relative} from 'node:path'
import {Exit, GlbCommand, GlbError} from '../../cli/base-command.js'

/** How the printed commands run glb: `glb` when started through a `glb` on PATH, else node and this launcher. */
function glbInvocation(): string[] {
  const launcher = process.argv[1]!
  if (basename(launcher) === 'glb') return ['glb']
  const rel = relative(process.cwd(), launcher)
  return ['node', rel.startsWith('..') || isAbsolute(rel) ? launcher : rel]
}

export default class LabUp extends GlbCommand {
  static override summary = 'Run a whole GSLB lab on loopback: lab root, DNS-A, DNS-Bs, DNS-LBs, ISP resolvers and content servers.'
  static override description =
    'Reads a topology (default: the one shipped in fixtures/lab.json), starts every role as a child process on its own 127.x address, ' +
    'waits until each ISP resolver\'s clients get the server its DNS-LB measured as nearest, and prints that as a table. ' +
    'The run folder holds every state file, log, the TSIG key (tsig.key) and the live latency matrix (glb lab matrix changes it to move clients). ' +
    'Then it prints commands to try next, as they run in this lab (its port and key); --json carries them as "next" ({what, argv, command}). Ctrl-C stops everything.'
  static override examples = [
    'sudo <%= config.bin %> lab up',
    '<%= config.bin %> lab up --port 5300',
    'sudo <%= config.bin %> lab up --isp unbound',
    '<%= config.bin %> lab up --port 5300 --json',
  ]
  static override flags = {
    topology: Flags.string({char: 't', description: 'topology file (default: the shipped fixtures/lab.json)'}),
    port: Flags.integer({char: 'p', description: 'DNS port of every role (53 needs root; content servers use PORT+1 for HTTP; role metrics PORT+2, 9153 on 53)', min: 1, max: 65533}),
    isp: Flags.string({description: 'ISP resolvers to start at each POP: glb, unbound, bind, or external (none: bring your own)', options: ['glb', 'unbound', 'bind', 'external'], default: 'glb'}),
    dir: Flags.string({description: 'run folder for state files and logs (default: a new temp folder)'}),
    timeout: Flags.integer({description: 'seconds to wait for convergence before showing the table anyway', default: 90, min: 1}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(LabUp)
    const {Lab} = await import('../../lab/lab.js')
    const {loadTopology, DEFAULT_TOPOLOGY} = await import('../../lab/topology.js')
    const topologyFile = flags.topology ?? DEFAULT_TOPOLOGY
    let topology
    try {
      topology = loadTopology(topologyFile)
    } catch (err) {
      throw new GlbError((err as Error).message, Exit.usage)
    }
    const port = flags.port ?? 53
    if (port === 53 && process.getuid?.() !== 0) throw new GlbError('port 53 needs root: run with sudo, or pick a high port with --port 5300', Exit.usage)
    const isp = flags.isp as 'glb' | 'unbound' | 'bind' | 'external'
    if (isp === 'external' && flags.port === undefined) this.note('glb lab up: --isp external: start your own resolvers at the ISP addresses (see README)')

    const spinner = this.interactive ? (await import('ora')).default({text: 'starting the lab', stream: process.stderr}).start() : null
    const progress = (line: string) => { if (spinner) spinner.text = line; else if (!this.jsonEnabled()) this.note(`glb lab up: ${line}`) }
    let failed: string | null = null
    let lab
    try {
      lab = new Lab({
        topology, topologyFile, port, isp, dir: flags.dir,
        glb: [process.execPath, process.argv[1]!],
        onProgress: progress,
        onChildExit: (name, code, tail) => {
          failed = `${name} exited (${code}): ${tail}`
          this.note(`glb lab up: ${failed}`)
        },
      })
    } catch (err) {
      spinner?.stop()
      throw new GlbError((err as Error).message, Exit.usage)
    }
    const stop = new Promise<void>((resolve) => {
      process.once('SIGINT', resolve)
      process.once('SIGTERM', resolve)
    })
    try {
      await lab.start()
      progress('waiting until every ISP gets its DNS-LB\'s choice')
      const {converged, rows} = isp === 'external' ? {converged: false, rows: await lab.rows()} : await lab.waitConverged(flags.timeout * 1000)
      spinner?.stop()
      const report = lab.report(rows, converged)
      const {labNextSteps, renderNextSteps} = await import('../../lab/next-steps.js')
      const next = labNextSteps(report, glbInvocation())
      if (this.jsonEnabled()) {
        process.stdout.write(JSON.stringify({...report, next}) + '\n')
      } else {
        const {renderLabTable} = await import('../../lab/lab-table.js')
        process.stdout.write(renderLabTable(report) + '\n\n' + renderNextSteps(next, {port: report.ports.dns, keyFile: report.keyFile}) + '\n')
        this.note(`glb lab up: ${converged ? 'converged' : 'NOT converged yet (see the logs)'}; run folder ${lab.runDir}; Ctrl-C stops the lab`)
        this.note(`glb lab up: trace the lab with \`glb trace ${topology.name}.${topology.zone.replace(/\.$/, '')} --lab${port === 53 ? '' : ` --port ${port}`} --from ${topology.pops[0]!.isp}\` (or export GLB_LAB=1; without it trace and resolve start at the Internet's root)`)
      }
      if (failed) throw new Error(failed)
      await stop
    } catch (err) {
      spinner?.stop()
      await lab.stop()
      throw new GlbError(`lab: ${(err as Error).message} (logs in ${lab.runDir})`)
    }
    await lab.stop()
  }
}
