// Serves one address from several cores: a node:cluster primary forks N workers that each run the same
// `glb serve ...` command from dist/. On Node 20 dgram has no reusePort, so UDP goes through cluster's shared
// handle (one socket, every worker reading it; the kernel hands each datagram to one reader), TCP through the
// primary's round-robin. Worker k is pinned to core k mod cores. Each worker is a whole role (its own probes).
// Run: node --import tsx bench/cluster-serve.ts WORKERS serve lb --state FILE ...
// Prints one JSON line {"workers": [pids]} once every worker is up; SIGTERM stops them all.
import cluster from 'node:cluster'
import {execFileSync} from 'node:child_process'
import {cpus} from 'node:os'
import {join} from 'node:path'

const [countText, ...args] = process.argv.slice(2)
const count = Number(countText)
const root = new URL('..', import.meta.url).pathname
const cores = cpus().length

// Workers run plain node on dist/ (not this process's tsx loader).
cluster.setupPrimary({exec: join(root, 'bin', 'run.js'), args, execArgv: [], silent: false})
const pids: number[] = []
for (let k = 0; k < count; k++) {
  const w = cluster.fork()
  const pid = w.process.pid!
  pids.push(pid)
  // The first worker takes the server core (1); the next the load generator's (0), and so on.
  try {
    execFileSync('taskset', ['-a', '-p', '-c', String((cores - 1 - k + cores * 4) % cores), String(pid)], {stdio: 'ignore'})
  } catch {
    // no taskset: the workers run unpinned
  }
}
process.stdout.write(JSON.stringify({workers: pids}) + '\n')
let stopping = false
cluster.on('exit', (w, code) => {
  if (!stopping) process.stderr.write(`cluster-serve: worker ${w.process.pid} exited (${code})\n`)
  if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0)
})
const stop = () => {
  stopping = true
  for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM')
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
