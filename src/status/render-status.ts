// The text form of `glb status`: a heading line per role and tables (cli-table3), no colour.
import Table from 'cli-table3'
import type {RoleStatus} from './role-status.js'

const ms = (v: number | null) => (v === null ? '-' : `${v.toFixed(1)} ms`)

function table(head: string[], rows: string[][]): string {
  const t = new Table({head, style: {head: [], border: []}})
  for (const r of rows) t.push(r)
  return t.toString()
}

function duration(s: number | null): string {
  if (s === null) return 'never (static)'
  if (s < 120) return `${s}s`
  if (s < 7200) return `${Math.round(s / 60)}m`
  return `${(s / 3600).toFixed(1)}h`
}

/** Renders a status for people. */
export function renderStatus(s: RoleStatus): string {
  switch (s.role) {
    case 'dns-lb': {
      const head = `DNS-LB ${s.label} for ${s.zone}: answer ${[...s.answer.A, ...s.answer.AAAA].join(', ') || '(none)'}` +
        (s.savedAt ? ` (measured ${s.ageSeconds}s ago, ${s.measurementsFile})` : '')
      if (s.note) return `${head}\n${s.note}`
      return `${head}\n${table(['SERVER', 'SRTT', 'SPREAD', 'LOSS', 'STATE', 'SCORE', 'CHOSEN'], s.servers.map((v) => [
        v.address, ms(v.srttMs), ms(v.spreadMs), v.lossPct === null ? '-' : `${v.lossPct}%`, v.up === null ? 'unknown' : v.up ? 'up' : 'down',
        v.score === null ? '-' : v.score.toFixed(1), v.chosen ? '*' : '',
      ]))}`
    }
    case 'dns-b': {
      const head = `DNS-B ${s.zone}: ${s.mappings.length} mappings${s.lapsed ? ` (+${s.lapsed} lapsed, dropped at the next sweep)` : ''}` +
        (s.serial !== null ? `, serial ${s.serial}` : '') + ` (${s.mappingsFile})`
      const parts = [head]
      if (s.note) parts.push(s.note)
      if (s.mappings.length) parts.push(table(['RESOLVER', 'DNS-LB', 'ADDRESSES', 'LEASE ENDS', 'IN'], s.mappings.map((m) => [m.prefix, m.lb, m.addrs.join(', '), m.expiresAt, duration(m.expiresInSeconds)])))
      if (s.lbs.length) parts.push(table(['DNS-LB', 'ADDRESSES', 'LEASE ENDS IN'], s.lbs.map((l) => [l.label, l.addrs.join(', '), duration(l.expiresInSeconds)])))
      if (s.measurements.length) parts.push(table(['DNS-LB', 'MEASUREMENTS', 'LEASE ENDS IN'], s.measurements.map((m) => [m.label, m.servers.join('\n'), duration(m.expiresInSeconds)])))
      return parts.join('\n')
    }
    case 'dns-a':
      return `DNS-A: ${s.zones.map((z) => `${z.origin} (${z.records} records)`).join(', ')}` +
        (s.pools.length ? `; pools ${s.pools.map((p) => `${p.name} (${p.servers} servers)`).join(', ')}` : '')
    case 'dns-isp':
      return `DNS-ISP: egress ${[s.egress].flat().join(', ')}, start servers ${s.root.join(', ')} port ${s.upstreamPort}, clients ${s.allow.join(', ')}`
  }
}
