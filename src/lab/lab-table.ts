// The converged lab as a table: each ISP, the DNS-LB it is referred to, what its clients get, and latencies.
import Table from 'cli-table3'
import type {LabReport} from './lab.js'

export function renderLabTable(r: LabReport): string {
  const servers = r.roles.servers
  const table = new Table({
    head: ['POP', 'ISP resolver', 'DNS-LB', 'clients get', ...servers.map((s) => `RTT to ${s}`)],
    style: {head: [], border: []},
  })
  for (const row of r.rows) {
    table.push([
      row.pop, row.isp, row.lb, row.answer.join(', ') || '(no answer)',
      ...servers.map((s) => {
        const l = row.latencies.find((x) => x.server === s)
        if (!l) return '-'
        const ms = l.srttMs === null ? '-' : `${l.srttMs.toFixed(1)} ms`
        return `${ms}${l.up === false ? ' down' : ''}${l.chosen ? ' *' : ''}`
      }),
    ])
  }
  return table.toString()
}
