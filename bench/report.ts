// The benchmark's output: each table printed as it is finished and kept as Markdown for docs/PERFORMANCE.md.
import Table from 'cli-table3'

type Cell = string | number

/** Collects tables and notes; `markdown()` gives the whole run as one document section. */
export class Report {
  private readonly parts: string[] = []

  /** Prints a table now (a long run shows progress) and keeps its Markdown form. */
  table(title: string, head: string[], rows: Cell[][], notes: string[] = []): void {
    const t = new Table({head, style: {head: [], border: []}})
    for (const r of rows) t.push(r.map(String))
    console.log(`\n${title}`)
    console.log(t.toString())
    for (const n of notes) console.log(n)
    const md = [`### ${title}`, '', `| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`]
    for (const r of rows) md.push(`| ${r.map((c) => String(c).replaceAll('|', '\\|')).join(' | ')} |`)
    if (notes.length) md.push('', ...notes.map((n) => `${n}  `))
    this.parts.push(md.join('\n'))
  }

  /** A line outside any table (skips, machine facts). */
  note(line: string): void {
    console.log(line)
    this.parts.push(line)
  }

  markdown(): string {
    return this.parts.join('\n\n') + '\n'
  }
}

/** Figures as the tables show them. */
export const fmt = {
  int: (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '-'),
  ms: (n: number, digits = 3): string => (Number.isFinite(n) ? n.toFixed(digits) : '-'),
  us: (n: number): string => (Number.isFinite(n) ? n.toFixed(1) : '-'),
  mib: (bytes: number): string => (Number.isFinite(bytes) ? (bytes / 1048576).toFixed(1) : '-'),
  ratio: (n: number): string => (Number.isFinite(n) ? `${n.toFixed(n < 10 ? 2 : 0)}x` : '-'),
}

/** The median of the finite values (NaN when none). */
export function median(xs: number[]): number {
  const v = xs.filter(Number.isFinite).sort((a, b) => a - b)
  if (!v.length) return NaN
  const m = v.length >> 1
  return v.length % 2 ? v[m]! : (v[m - 1]! + v[m]!) / 2
}
