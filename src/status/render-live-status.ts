// The text form of `glb status --metrics`: what the role is, answers, since when, reloads and the last error.
import Table from 'cli-table3'
import type {LiveStatus} from './live-status.js'

function ago(seconds: number | null): string {
  if (seconds === null) return '?'
  if (seconds < 120) return `${seconds}s`
  if (seconds < 7200) return `${Math.round(seconds / 60)}m`
  return `${(seconds / 3600).toFixed(1)}h`
}

/** Renders a live status for people. */
export function renderLiveStatus(s: LiveStatus): string {
  const lines = [`${s.role}${s.name ? ` ${s.name}` : ''} at ${s.url}: serving since ${s.servingSince ?? '?'} (${ago(s.uptimeSeconds)})`]
  const rcodes = Object.entries(s.queries.byRcode).map(([r, n]) => `${r} ${n}`).join(', ')
  lines.push(`answered ${s.queries.total} queries${rcodes ? ` (${rcodes})` : ''}`)
  if (s.answer) lines.push(`answering with ${s.answer.join(', ') || '(nothing yet)'}`)
  if (s.mappings !== undefined) {
    const leases = Object.entries(s.leases ?? {}).map(([k, n]) => `${k} ${n}`).join(', ')
    const refs = Object.entries(s.referrals ?? {}).map(([lb, n]) => `${lb} ${n}`).join(', ')
    lines.push(`${s.mappings} mappings; leases: ${leases || 'none'}; referrals: ${refs || 'none yet'}`)
  }
  lines.push(`reloads: ${s.reloads.ok} ok${s.reloads.lastOkAt ? ` (last ${s.reloads.lastOkAt})` : ''}, ${s.reloads.failed} failed`)
  lines.push(`last error: ${s.lastError ? `${s.lastError.at} ${s.lastError.message}` : 'none'}`)
  if (s.servers?.length) {
    const t = new Table({head: ['SERVER', 'SRTT', 'LOSS', 'STATE', 'ANSWERED'], style: {head: [], border: []}})
    for (const v of s.servers) {
      t.push([v.address, v.srttMs === null ? '-' : `${v.srttMs} ms`, v.lossPct === null ? '-' : `${v.lossPct}%`, v.up === null ? 'unknown' : v.up ? 'up' : 'down', v.answered ? '*' : ''])
    }
    lines.push(t.toString())
  }
  return lines.join('\n')
}
